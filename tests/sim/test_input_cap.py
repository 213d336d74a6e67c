"""Issue 11, case 5, in the simulator: a per-request input cap is named as what binds."""

from __future__ import annotations

from collections.abc import Callable

from capacity.config.loader import Configuration
from capacity.report.verdict import judge
from capacity.sim.model import simulate

GITHUB_ONLY = (
    "routing.destinations=[{provider: github-models, model: openai/gpt-4o-mini}]",
    "demand={kind: per_day, interviews: 5, days: 1}",
    "candidates.count=5",
    "candidates.interviews_each=1",
)


def test_requests_over_github_models_8000_token_cap_are_never_sent_and_the_verdict_names_the_cap(
    load_scenario: Callable[..., Configuration],
) -> None:
    # every request carries a 9,000-token system prompt: over GitHub Models' 8,000 input tokens a request
    config = load_scenario("A", *GITHUB_ONLY, "script.system_prompt_tokens=9000")
    result = simulate(config, seed=7)
    (github,) = result.destinations
    assert (result.interviews.completed, github.requests) == (0, 0)
    assert github.binding_window is None  # no quota window was ever full: the cap refused everything
    assert github.over_input_cap_from_s is not None
    findings = " ".join(judge(result, config).findings)
    assert "per-request input cap (max_input_tokens_per_request) could not go to github-models/openai/gpt-4o-mini" in (
        findings
    )
    assert "the only limit that refused it" in findings


def test_requests_under_the_cap_never_meet_it(load_scenario: Callable[..., Configuration]) -> None:
    result = simulate(load_scenario("A", *GITHUB_ONLY, "script.system_prompt_tokens=500"), seed=7)
    (github,) = result.destinations
    assert github.requests > 0 and github.over_input_cap_from_s is None
