"""The quota ledger of one destination: every limit of every account, charged at admission.

A request is admitted on an account only if *every* window of that account has room for it
(requests, tokens, neurons, dollars of credit) and a concurrency slot is free. Tokens are
reserved at admission as input + ``max_tokens`` — otherwise concurrent requests overrun a
TPM limit — and the unused part is refunded when the response ends, except where the
provider charges the maximum up front (Cerebras). The ledger therefore never admits a
request that would break a limit in any window of the provider's kind; the property tests
in ``tests/policy`` check exactly that.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, Final

from mypy_extensions import mypyc_attr

from capacity.config.providers import (
    CalendarMonthReset,
    FixedReset,
    Limits,
    ModelSpec,
    PromptCache,
    Provider,
    Resets,
    RollingReset,
    TokenBucketReset,
    UnknownReset,
)
from capacity.policy.observer import NULL_OBSERVER, PolicyObserver
from capacity.policy.prompt_cache import CacheTerms
from capacity.policy.resets import DailyAt, EveryAligned, MonthlyOnFirst, NeverResets
from capacity.policy.windows import (
    ConcurrencyLimit,
    FixedWindow,
    QuotaWindow,
    RollingWindow,
    TokenBucket,
)
from capacity.units import MTOK, Measure, Period

# The measures as module constants: in the compiled engine reading a member off an Enum class
# costs about 110 ns (the class's ``__getattr__``), a module-level Final about 2 ns (measured).
_REQUESTS: Final = Measure.REQUESTS
_TOKENS: Final = Measure.TOKENS
_NEURONS: Final = Measure.NEURONS
_INPUT_TOKENS: Final = Measure.INPUT_TOKENS
_OUTPUT_TOKENS: Final = Measure.OUTPUT_TOKENS

_NO_CAP: Final = (1 << 60) - 1
"""The per-request token cap of a model that states none: more than any request, and small
enough for the compiled engine's unboxed integers (below 2**62; a larger one is a Python object
at every comparison)."""


class Charge:
    """What one request costs each kind of window (not frozen: built per request, kept cheap).

    A plain class with slots, not a dataclass: one is built per request, and a dataclass's
    generated ``__init__`` stays interpreted Python in the compiled engine."""

    __slots__ = ("input_tokens", "neurons", "output_tokens", "requests", "tokens", "usd")

    def __init__(
        self,
        requests: float,
        tokens: float,
        neurons: float,
        usd: float,
        input_tokens: float = 0.0,
        output_tokens: float = 0.0,
    ) -> None:
        self.requests = requests
        self.tokens = tokens
        self.neurons = neurons
        self.usd = usd
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    def __repr__(self) -> str:
        return (
            f"Charge(requests={self.requests!r}, tokens={self.tokens!r}, neurons={self.neurons!r}, "
            f"usd={self.usd!r}, input_tokens={self.input_tokens!r}, output_tokens={self.output_tokens!r})"
        )

    def amount(self, measure: Measure) -> float:
        """The part of the charge a window of ``measure`` counts."""
        if measure is _REQUESTS:
            return self.requests
        if measure is _TOKENS:
            return self.tokens
        if measure is _NEURONS:
            return self.neurons
        if measure is _INPUT_TOKENS:
            return self.input_tokens
        if measure is _OUTPUT_TOKENS:
            return self.output_tokens
        return self.usd


class Tariff:
    """Converts a request's tokens into the units a model's windows count.

    With a prompt cache (:class:`~capacity.config.providers.PromptCache`), ``cached`` of a
    request's input tokens are priced at the read factor, the rest of a prompt long enough to
    cache at the write factor, and token windows are charged the cached tokens only where the
    provider counts them (``counts_toward_limits``; unknown counts). Neurons and request windows
    are charged in full (no provider states a cached neuron rate in our sources).
    """

    def __init__(self, spec: ModelSpec, prompt_cache: PromptCache | None = None) -> None:
        self.spec = spec
        self.neurons_in = spec.neurons.per_mtok_in / MTOK if spec.neurons else 0.0
        self.neurons_out = spec.neurons.per_mtok_out / MTOK if spec.neurons else 0.0
        self.usd_in = spec.prices.usd_per_mtok_in / MTOK if spec.prices else 0.0
        self.usd_out = spec.prices.usd_per_mtok_out / MTOK if spec.prices else 0.0
        self.prompt_cache = None if prompt_cache is None else CacheTerms(prompt_cache)
        self.cached_counts = self.prompt_cache is None or self.prompt_cache.counts
        """Whether token windows count cached input tokens."""

    def counted_input(self, tokens_in: float, cached: float) -> float:
        """Input tokens a token window counts of a prompt with ``cached`` cached tokens."""
        return tokens_in if self.cached_counts else tokens_in - cached

    def charge(self, tokens_in: float, tokens_out: float, cached: float = 0.0) -> Charge:
        """The charge of a request of ``tokens_in`` prompt tokens (``cached`` of them read from the
        provider's prompt cache) and ``tokens_out`` output tokens."""
        counted = tokens_in if self.cached_counts else tokens_in - cached
        return Charge(
            1.0,
            counted + tokens_out,
            tokens_in * self.neurons_in + tokens_out * self.neurons_out,
            tokens_in * self.usd_in + tokens_out * self.usd_out  # list_price_usd without a prompt cache, inline
            if self.prompt_cache is None
            else self.list_price_usd(tokens_in, tokens_out, cached),
            counted,
            tokens_out,
        )

    def list_price_usd(self, tokens_in: float, tokens_out: float, cached: float | None = 0.0) -> float:
        """The request's price at the model's list prices, $: ``cached`` input tokens at the cache's
        read factor, the uncached rest at the write factor where the prompt is long enough to cache
        (``cached`` None: the price without prompt caching)."""
        cache = self.prompt_cache
        if cache is None or cached is None:
            return tokens_in * self.usd_in + tokens_out * self.usd_out
        write = cache.write_price_factor if tokens_in >= cache.minimum else 1.0
        uncached = tokens_in - cached
        return (uncached * write + cached * cache.read_price_factor) * self.usd_in + tokens_out * self.usd_out


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class Admission:
    """A request admitted on one account: what was charged (``charge``), the window handles to
    settle it with (``handles``), and ``cached_tokens``, the input tokens of the request the
    provider's prompt cache serves (priced and counted as such). One per request: a plain class
    (see :class:`Charge`)."""

    __slots__ = ("account", "cached_tokens", "charge", "handles")

    def __init__(
        self, account: int, charge: Charge, handles: list[tuple[QuotaWindow, Any]], *, cached_tokens: int = 0
    ) -> None:
        self.account = account
        self.charge = charge
        self.handles = handles
        self.cached_tokens = cached_tokens

    def __repr__(self) -> str:
        name, cached = type(self).__name__, self.cached_tokens
        return f"{name}(account={self.account}, charge={self.charge!r}, cached_tokens={cached})"


def _window(
    name: str,
    measure: Measure,
    limit: float,
    period: Period,
    resets: Resets,
    run_start: dt.datetime,
    rolling_margin_s: float = 0.0,
) -> QuotaWindow:
    if period is Period.ONCE:
        return FixedWindow(name, measure, limit, NeverResets())
    rule = resets.rule(period)
    length_s = period.length_s
    stretchable = isinstance(rule, RollingReset | UnknownReset | TokenBucketReset)
    if measure is Measure.REQUESTS and 0 < limit < 1 and stretchable:
        # a fraction of a request per period (a router replica's 1/N share of 1 request/s) is one
        # request per period ÷ fraction: 1/3 of a request a second is one request every 3 s
        length_s, limit = length_s / limit, 1.0
    if isinstance(rule, RollingReset | UnknownReset):  # nothing known: rolling holds under every alignment
        return RollingWindow(name, measure, limit, length_s + rolling_margin_s)
    if isinstance(rule, TokenBucketReset):
        return TokenBucket(name, measure, limit, length_s)
    if isinstance(rule, FixedReset):
        if period is Period.DAY:
            return FixedWindow(name, measure, limit, DailyAt(run_start, rule.at, rule.timezone))
        return FixedWindow(name, measure, limit, EveryAligned(length_s))
    if isinstance(rule, CalendarMonthReset):
        return FixedWindow(name, measure, limit, MonthlyOnFirst(run_start, rule.timezone))
    raise TypeError(f"unknown reset rule {rule!r}")  # pragma: no cover


def build_windows(spec: ModelSpec, run_start: dt.datetime, rolling_margin_s: float = 0.0) -> list[QuotaWindow]:
    """One account's quota windows: one per limit the model states over a period, named by its
    field and in the order of :data:`~capacity.units.LIMIT_KINDS` (concurrency and per-request
    caps are not windows; absent limits make none).

    ``rolling_margin_s`` lengthens every rolling window (s): a live router counts a request
    from when it sends it, the provider from when it arrives, a moment later — so the router's
    rolling window must hold each request that much longer, or it frees a slot just before the
    provider does. (Token buckets need no margin: the provider's bucket has refilled a little
    more by the time the request arrives; fixed windows differ only across a reset instant.)
    """
    return limit_windows(spec.limits_on(run_start.astimezone(dt.UTC).date()), spec.resets, run_start, rolling_margin_s)


def limit_windows(
    limits: Limits, resets: Resets, run_start: dt.datetime, rolling_margin_s: float = 0.0
) -> list[QuotaWindow]:
    """One window per limit of ``limits`` counted over a period, refilling as ``resets`` says."""
    return [
        _window(limit.kind.field, limit.kind.measure, limit.value, limit.period, resets, run_start, rolling_margin_s)
        for limit in limits.stated()
        if limit.period is not None
    ]


def account_pools(
    provider: Provider, accounts: int, run_start: dt.datetime, rolling_margin_s: float = 0.0
) -> list[list[QuotaWindow]]:
    """The account-wide allowances of ``provider`` (``account_limits``), one set of windows per
    account: the very window objects every destination on that provider charges (Cloudflare's
    10,000 neurons a day are spent by all its models together). Empty lists where none is stated."""
    if provider.account_limits is None:
        return [[] for _ in range(accounts)]
    return [
        limit_windows(provider.account_limits, provider.account_resets, run_start, rolling_margin_s)
        for _ in range(accounts)
    ]


def limit_schedule(spec: ModelSpec, run_start: dt.datetime) -> list[tuple[float, Limits]]:
    """The dated limit changes after ``run_start``: (run s at 00:00 UTC of the day, the limits in
    effect from then), in time order. :func:`build_windows` lays the values in effect at the start."""
    start_day = run_start.astimezone(dt.UTC).date()
    out = []
    for day in spec.change_days():
        if day > start_day:
            at = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)
            out.append(((at - run_start).total_seconds(), spec.limits_on(day)))
    return out


def apply_limits(windows: list[QuotaWindow], limits: Limits) -> None:
    """Give each window (named by its limit field) the value ``limits`` states for it."""
    for window in windows:
        value = getattr(limits, window.name)
        if value is not None:
            window.set_limit(value)


class AccountQuota:
    """The windows and concurrency slots of one account of one model."""

    __slots__ = (
        "_blocked_amount",
        "_blocked_by_count",
        "_blocked_measure",
        "_blocked_until",
        "_blocked_window",
        "concurrency",
        "observer",
        "refundable",
        "windows",
    )

    def __init__(
        self,
        windows: list[QuotaWindow],
        concurrency: int | None,
        refundable: bool,
        observer: PolicyObserver = NULL_OBSERVER,
    ) -> None:
        self.windows = windows
        self.concurrency = ConcurrencyLimit(concurrency) if concurrency else None
        self.refundable = refundable
        self.observer = observer
        # the last refusal, cached: no charge needing at least _blocked_amount of
        # _blocked_measure fits before _blocked_until (usage only grows until a refund)
        self._blocked_until = -math.inf
        self._blocked_measure = _REQUESTS
        self._blocked_by_count = True  # the cached refusal counts requests or tokens
        self._blocked_amount = math.inf
        self._blocked_window: QuotaWindow | None = None

    def try_admit(self, now: float, charge: Charge, account: int) -> Admission | float:
        """Charge every window and take a slot; or refuse, answering a lower bound of when
        this charge may fit (``inf``: only a freed slot can help)."""
        observer = self.observer
        if now < self._blocked_until and charge.amount(self._blocked_measure) >= self._blocked_amount:
            if self._blocked_window is not None:
                # the same window refuses again
                observer.window_refused(now, self._blocked_window.id, self._blocked_until)
            return self._blocked_until
        concurrency = self.concurrency
        if concurrency is not None and concurrency.in_flight >= concurrency.limit:  # ConcurrencyLimit.fits, inline
            observer.window_refused(now, concurrency.id, math.inf)
            return math.inf
        windows = self.windows
        for window in windows:
            amount = charge.amount(window.measure)
            if not window.fits(now, amount):
                until = window.free_at(now, amount)
                observer.window_refused(now, window.id, until)
                measure = window.measure
                self._blocked_until, self._blocked_measure, self._blocked_window = until, measure, window
                self._blocked_by_count = measure is _REQUESTS or measure is _TOKENS
                self._blocked_amount = 0.0 if measure is _REQUESTS else amount
                return until
        handles = []
        for window in windows:
            amount = charge.amount(window.measure)
            handles.append((window, window.take(now, amount)))
            observer.window_used(now, window.id, window.used(now) / window.limit if window.limit else 1.0)
        if self.concurrency is not None:
            c = self.concurrency
            c.take(now)
            observer.window_used(now, c.id, c.in_flight / c.limit)
        return Admission(account, charge, handles)

    def blocked_until(self, now: float, tokens: float) -> float | None:
        """The cached time before which a request of ``tokens`` surely does not fit, if the
        cached refusal counts requests or tokens (others need the priced charge)."""
        if now < self._blocked_until and self._blocked_by_count and tokens >= self._blocked_amount:
            return self._blocked_until
        return None

    def settle(self, now: float, admission: Admission, actual: Charge) -> bool:
        """Refund what was reserved but not used, and free the slot.

        Returns whether this may make room for a request the account refused: a slot freed, or
        something refunded — unless a request-count window is known to refuse every request until
        later (:meth:`try_admit`'s cached refusal): refunded tokens cannot help before it frees,
        and when it frees is already the waiting turns' timer."""
        refunded = False
        if self.refundable:
            reserved = admission.charge
            for window, handle in admission.handles:
                measure = window.measure
                unused = reserved.amount(measure) - actual.amount(measure)
                if unused > 0:
                    window.refund(now, handle, unused)
                    refunded = True
            if self._blocked_measure is not _REQUESTS:  # refunded tokens may make room
                self._blocked_until = -math.inf
        c = self.concurrency
        if c is not None:
            c.release()
            # a slot is free again: a stretch the slot was full (refused with no end known) ends now
            self.observer.window_used(now, c.id, c.in_flight / c.limit)
            return True
        return refunded and not (now < self._blocked_until and self._blocked_measure is _REQUESTS)


class DestinationQuota:
    """All accounts of one provider model; a request goes to the first account with room."""

    def __init__(
        self,
        spec: ModelSpec,
        accounts: int,
        run_start: dt.datetime,
        observer: PolicyObserver = NULL_OBSERVER,
        rolling_margin_s: float = 0.0,
        pools: Sequence[Sequence[QuotaWindow]] = (),
        prompt_cache: PromptCache | None = None,
    ) -> None:
        self.spec = spec
        self.tariff = Tariff(spec, prompt_cache)
        own = [build_windows(spec, run_start, rolling_margin_s) for _ in range(accounts)]
        self.own_windows = len(own[0]) if own else 0
        """How many of each account's windows are the model's own (the rest: account-wide pools)."""
        self.accounts = [
            AccountQuota(
                own[i] + list(pools[i] if i < len(pools) else ()),
                spec.limits.concurrent_requests,
                refundable=not spec.limits.charge_max_output_up_front,
                observer=observer,
            )
            for i in range(accounts)
        ]
        self._next = 0
        # dated limit values (a free tier cut on a day): applied when the run reaches them; cached
        # refusals stay lower bounds of when a request fits (a raised limit is seen once they pass)
        self._changes = limit_schedule(spec, run_start)
        self._change_at = self._changes[0][0] if self._changes else math.inf
        # a free tier withdrawn by its provider admits nothing from 00:00 UTC that day on
        self.withdrawn_at_s = math.inf
        if spec.withdrawn_on is not None:
            gone = dt.datetime.combine(spec.withdrawn_on, dt.time(0, 0), tzinfo=dt.UTC)
            self.withdrawn_at_s = (gone - run_start).total_seconds()
            self.skip_until, self.skip_tokens = (math.inf, 0.0) if self.withdrawn_at_s <= 0 else (-math.inf, math.inf)
        cap = spec.limits.max_output_tokens_per_request
        self.max_output_cap = cap if cap is not None else _NO_CAP
        cap_in = spec.limits.max_input_tokens_per_request
        self.max_input_cap = cap_in if cap_in is not None else _NO_CAP
        if self.withdrawn_at_s > 0:
            # every account refused by a cached window: no request of at least skip_tokens
            # tokens fits anywhere here before skip_until (a lower bound; cleared on refunds)
            self.skip_until = -math.inf
            self.skip_tokens = math.inf

    def output_cap(self, max_output_tokens: int) -> int:
        """``max_tokens`` actually sent: the request's, clipped to the model's per-request cap."""
        cap = self.max_output_cap  # the spec's cap (a huge number where it states none)
        return max_output_tokens if max_output_tokens < cap else cap

    def try_admit(
        self, now: float, tokens_in: int, max_output_tokens: int, cached_tokens: int = 0
    ) -> Admission | float:
        """Admit on some account (round robin from the last one used); or refuse, answering a
        lower bound of when one may admit it (``inf``: only a freed slot can help).

        ``cached_tokens`` of the prompt are served from the provider's prompt cache: token
        windows are charged them only if the provider counts cached tokens."""
        if now >= self.withdrawn_at_s:
            return math.inf
        if now >= self._change_at:  # limits_in_force, inline: the simulator's hot path
            self._apply_changes(now)
        cap = self.max_output_cap
        output = max_output_tokens if max_output_tokens < cap else cap  # output_cap, inline
        counted = tokens_in if self.tariff.cached_counts else tokens_in - cached_tokens
        tokens = counted + output
        charge: Charge | None = None
        earliest = math.inf
        all_cached = True
        accounts = self.accounts
        n = len(accounts)
        for k in range(n):
            i = (self._next + k) % n if n > 1 else 0
            account = accounts[i]
            blocked = account._blocked_until
            if now < blocked:
                if account._blocked_by_count:
                    if tokens >= account._blocked_amount:
                        # account.blocked_until, inline — fast path: no need to price the request
                        earliest = blocked if blocked < earliest else earliest
                        continue
                elif self._amount(account._blocked_measure, tokens_in, counted, output) >= account._blocked_amount:
                    # what account.try_admit answers from its cached refusal, without pricing the request
                    window = account._blocked_window
                    if window is not None:
                        account.observer.window_refused(now, window.id, blocked)
                    earliest = blocked if blocked < earliest else earliest
                    all_cached = False  # not a count of requests or tokens: the router's skip needs those
                    continue
            if charge is None:
                charge = self.tariff.charge(tokens_in, output, cached_tokens)
            answer = account.try_admit(now, charge, i)
            if isinstance(answer, Admission):
                self._next = i
                answer.cached_tokens = cached_tokens
                return answer
            earliest = answer if answer < earliest else earliest
            all_cached = all_cached and account.blocked_until(now, tokens) is not None
        if all_cached:
            self.skip_until = min(a._blocked_until for a in self.accounts)
            self.skip_tokens = max(a._blocked_amount for a in self.accounts)
        return earliest

    def _amount(self, measure: Measure, tokens_in: int, counted: float, output: int) -> float:
        """The part of the request's :class:`Charge` a window of ``measure`` counts (``counted``
        input tokens, ``output`` reserved), as :meth:`Tariff.charge` computes it, without pricing
        it; dollars: ``-inf`` (unknown here: the caller prices the request). Not for requests or
        tokens, which the caller reads itself."""
        if measure is _INPUT_TOKENS:
            return counted
        if measure is _OUTPUT_TOKENS:
            return output
        if measure is _NEURONS:
            return tokens_in * self.tariff.neurons_in + output * self.tariff.neurons_out
        return -math.inf

    def limits_in_force(self, now: float) -> None:
        """Bring each window's limit to the value in force at run time ``now`` (s): the dated
        changes reached so far are laid on. Admission does it; so must a reader of the windows'
        limits (rate-limit headers, dashboards) that may come before any admission."""
        if now >= self._change_at:
            self._apply_changes(now)

    def _apply_changes(self, now: float) -> None:
        """Lay the limit values of every dated change reached by ``now`` on each account's windows."""
        while self._changes and self._changes[0][0] <= now:
            _, limits = self._changes.pop(0)
            for account in self.accounts:
                apply_limits(account.windows[: self.own_windows], limits)  # the model's own, not the account's
        self._change_at = self._changes[0][0] if self._changes else math.inf

    def settle(self, now: float, admission: Admission, tokens_in: int, tokens_out: int) -> bool:
        """Reconcile the reservation with the tokens actually used, free the slot. Returns whether
        this may make room for a refused request (:meth:`AccountQuota.settle`; always where the
        account shares account-wide windows with other models, whose refusals it cannot see)."""
        account = self.accounts[admission.account]
        freed = account.settle(now, admission, self.tariff.charge(tokens_in, tokens_out, admission.cached_tokens))
        if account.refundable and now < self.withdrawn_at_s and self.skip_tokens > 0:
            self.skip_until = -math.inf  # refunded tokens may make room (a request-count refusal stays)
        return freed or len(account.windows) > self.own_windows

    def utilisation(self, now: float) -> float:
        """How full the destination is: for each account the highest use ÷ limit over its
        windows and concurrency slots; the destination is as full as its emptiest account
        (a request goes to any account with room). 0 with no limits."""
        emptiest = math.inf
        for account in self.accounts:
            worst = 0.0
            for w in account.windows:
                worst = max(worst, w.used(now) / w.limit if w.limit > 0 else 1.0)
            if account.concurrency is not None:
                worst = max(worst, account.concurrency.in_flight / account.concurrency.limit)
            emptiest = min(emptiest, worst)
        return 0.0 if math.isinf(emptiest) else emptiest
