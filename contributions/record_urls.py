"""URLs of one contribution feature, included by contributions.urls."""

urlpatterns: list = []
