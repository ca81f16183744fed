"""The reference Platform Agent: runs what the marketplace says this platform should run.

``hspm agent run --config FILE`` starts it (``hspm.client.cli``). The pieces: ``config``
(settings), ``state`` (durable memory), ``desired`` (one model of what to run), ``loop``
(stream in, apply, acknowledge, report, resync), ``converge`` (health-gated rollouts),
``drivers`` (podman, kubernetes, compose), ``licenses`` and ``recalls`` (platform policy),
``server`` (health and metrics). Documented for platform teams in docs/platform-agent.md.
"""
