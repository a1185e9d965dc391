from django.urls import path

from notes.views import search

urlpatterns = [path("", search, name="search")]
