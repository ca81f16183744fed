"""The agent's Prometheus metrics, rendered by hand (text format 0.0.4): a handful of
counters and gauges do not justify a dependency on every hospital's platform."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

HELP = {
    "hspm_agent_events_applied_total": ("counter", "Stream items applied and acknowledged, by kind."),
    "hspm_agent_rollouts_total": ("counter", "Rollouts of a generation, by result."),
    "hspm_agent_reports_sent_total": ("counter", "Instance status reports sent to the marketplace."),
    "hspm_agent_recalls_acknowledged_total": (
        "counter",
        "Recall acknowledgements sent after applying the platform policy.",
    ),
    "hspm_agent_converge_seconds_sum": ("counter", "Seconds spent converging instances."),
    "hspm_agent_converge_seconds_count": ("counter", "Instance converges."),
    "hspm_agent_connected": ("gauge", "1 while the notifier connection is up."),
    "hspm_agent_stream_seq": ("gauge", "The last stream position applied."),
    "hspm_agent_instances_desired": ("gauge", "Instances the marketplace wants on this platform."),
    "hspm_agent_instances_running": ("gauge", "Instances whose last report is running."),
}


@dataclass
class Metrics:
    values: dict[str, dict[tuple[tuple[str, str], ...], float]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[name][key] = self.values[name].get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[name][tuple(sorted(labels.items()))] = value

    def render(self) -> str:
        lines = []
        for name, (kind, text) in HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            for labels, value in sorted(self.values.get(name, {}).items()):
                tags = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                lines.append(f"{name}{{{tags}}} {value:g}" if tags else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
