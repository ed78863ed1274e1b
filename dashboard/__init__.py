"""The merchant dashboard (Django's admin): the site, its home page and charts.

It sits on top of every app (dashboard → checkout → billing → {appearance,
webhooks} → duro): the home page reads billing's and webhooks' selectors, and
the site groups every app's pages into one menu. The pieces each app's own
admin builds on — tenancy, roles, live-mode confirmation — live below, in
:mod:`duro.dashboard`, so that no app imports this one.
"""
