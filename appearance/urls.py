"""URLs of the public appearance assets (the theme stylesheet and logos)."""

from django.urls import path

from appearance import views

urlpatterns = [
    path("theme/<str:merchant_id>/<int:version>.css", views.theme_stylesheet,
         name="appearance-theme"),
    path("logo/<str:sha256>.png", views.logo, name="appearance-logo"),
]
