"""From a stored instance model to the spec to run: override, build document, license, values.

The instance model is the notifier's; a recall the platform applied may override it
(another build, or stopped) for as long as the marketplace still names the recalled
build. The build's document comes from the catalog (kept once read), the license from the
platform's offline documents, and the variable values from the agent's settings.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from hspm.client.platform_agent.catalog import Catalog
from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.desired import Inputs, InstanceSpec, SpecError, instance_spec
from hspm.client.platform_agent.licenses import Licenses
from hspm.client.platform_agent.recalls import STOP, UPGRADE, Recall
from hspm.client.platform_agent.state import State


class SpecBuilder:
    def __init__(self, config: AgentConfig, state: State, catalog: Catalog, licenses: Licenses) -> None:
        self.config = config
        self.state = state
        self.catalog = catalog
        self.licenses = licenses

    async def spec(self, model: dict[str, Any]) -> InstanceSpec:
        """The spec of ``model`` as this platform runs it (SpecError, CatalogError, LicenseRefused)."""
        effective, note = await self._effective(model)
        # A model rebuilt from a resync has no platform part; it is this platform anyway.
        effective = effective | {"platform": {"id": self.config.platform_id}}
        build = effective["build"]
        product_id = str((build.get("product") or {}).get("id") or "")
        if not product_id:
            raise SpecError(f"build {build.get('id')}: the product is unknown (a resync names no product)")
        document = await self.catalog.document(product_id, str(build["id"]))
        grant = await self.licenses.grant(product_id)
        injected = {
            "HSPM_MARKETPLACE_URL": self.config.marketplace_url,
            "HSPM_PLATFORM_ID": self.config.platform_id,
            "HSPM_INSTANCE_ID": str(effective["id"]),
            "HSPM_PRODUCT_ID": product_id,
        }
        if grant is not None:
            injected |= grant.env
        inputs = Inputs(
            environment=self.config.values_for(product_id),
            injected=injected,
            license_file=grant.document_path if grant else None,
        )
        spec = instance_spec(effective, document, inputs)
        return replace(spec, override=note) if note else spec

    async def _effective(self, model: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        instance_id = str(model["id"])
        found = self.state.override(instance_id)
        if found is None:
            return model, None
        fixed_build_id, recall_id, action = found
        kept = self.state.recall(recall_id)
        recall = Recall.from_model(kept[0]) if kept else None
        if recall is None or str(model["build"]["id"]) not in recall.affected:
            # The marketplace moved the instance off the recalled build: its record rules again.
            self.state.drop_override(instance_id)
            return model, None
        note = recall.note(action)
        if action == STOP:
            return model | {"desired_state": "stopped"}, note
        if action == UPGRADE:
            return await self._upgraded(model, recall.product_id, fixed_build_id), note
        return model, note  # notify: runs as it is, and says so in its report

    async def _upgraded(self, model: dict[str, Any], product_id: str, build_id: str) -> dict[str, Any]:
        """The model with the fixed build in place of the recalled one (its public document's image)."""
        document = await self.catalog.document(product_id, build_id)
        image = str(document.get("product", {}).get("build", {}).get("binary", {}).get("image", ""))
        upgraded = copy.deepcopy(model)
        upgraded["build"] = {"id": build_id, "image": image, "version": None, "product": {"id": product_id}}
        return upgraded
