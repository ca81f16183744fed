"""The rules of builds, by responsibility.

- ``access``: finding a build for a caller (who sees drafts, who may change it, and when
  a build can still change at all);
- ``lifecycle``: a build from draft to submitted, curation's decisions, an import's
  complete build;
- ``packaging``: what a build is made of (configurations and tasks, exposures and
  parameters, dependencies, the asset);
- ``snapshot``: the build as curation sees it, on submission and (``BuildDraftChanged``,
  for dry runs) on every change while it is still being edited;
- ``errors``: the store's constraint violations as 422s naming the field.

Only this package uses ``builds.store``; other areas call its functions.
"""
