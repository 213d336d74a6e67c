"""A GPU pool's server choice: a conversation stays on its server within the load bound, else the shortest queue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.policy.replicas import ReplicaSet


def test_a_new_conversation_joins_the_shortest_queue_and_stays() -> None:
    pool = ReplicaSet(3)
    pool.outstanding[:] = [2, 0, 1]
    assert pool.choose(7) == 1
    pool.dispatched(1, 7)
    pool.completed(1)
    pool.outstanding[:] = [0, 1, 0]  # its server is now the busiest, but within the bound
    # bound: ⌈1.25 · (1 + 1) / 3⌉ = 1 — one more would make 2 > 1: overloaded, so it moves
    assert pool.bound() == 1
    assert pool.choose(7) == 0
    pool.outstanding[:] = [3, 4, 3]  # ⌈1.25 · 11 / 3⌉ = 5: 4 + 1 fits
    assert pool.bound() == 5
    assert pool.choose(7) == 1
    assert pool.choose(8) == 0  # an unknown conversation: the shortest queue, lowest index


def test_an_overloaded_home_sends_the_conversation_elsewhere_and_it_moves() -> None:
    pool = ReplicaSet(2)
    pool.dispatched(0, 1)
    pool.completed(0)
    pool.outstanding[:] = [5, 1]  # ⌈1.25 · 7 / 2⌉ = 5: a sixth request on server 0 breaks the bound
    assert pool.choose(1) == 1
    pool.dispatched(1, 1)
    assert (pool.affinity_kept, pool.affinity_moved) == (0, 1)
    pool.outstanding[:] = [0, 1]
    assert pool.choose(1) == 1  # its home is now server 1
    pool.dispatched(1, 1)
    assert (pool.affinity_kept, pool.affinity_moved) == (1, 1)


def test_without_affinity_every_request_joins_the_shortest_queue() -> None:
    pool = ReplicaSet(2, load_factor=None)
    pool.dispatched(1, 3)
    pool.completed(1)
    pool.outstanding[:] = [0, 0]
    assert pool.choose(3) == 0
    assert pool.choose(None) == 0
    assert pool.bound() == 0


def test_the_pool_forgets_the_least_recently_active_conversation() -> None:
    pool = ReplicaSet(2, remembered=2)
    for conversation, server in [(1, 1), (2, 1), (1, 1), (3, 1)]:  # 2 is the least recently active
        pool.dispatched(server, conversation)
        pool.completed(server)
    assert pool.choose(1) == pool.choose(3) == 1
    assert pool.choose(2) == 0  # forgotten: the shortest queue (a tie, the lowest index)


@pytest.mark.parametrize(
    ("args", "message"), [((0,), "at least one server"), ((2, 0.9), "below 1"), ((2, 1.2, 0), "remember")]
)
def test_bad_settings_are_refused(args: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReplicaSet(*args)


@settings(max_examples=150, deadline=None)
@given(
    servers=st.integers(1, 5),
    factor=st.sampled_from([1.0, 1.1, 1.25, 2.0]),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 6)), max_size=120),
)
def test_affinity_never_pushes_a_server_past_the_bound(
    servers: int, factor: float, ops: list[tuple[bool, int]]
) -> None:
    """Whatever the arrivals and completions: a request kept on its conversation's server leaves that
    server within ⌈factor · total / n⌉, and any other went to a shortest queue."""
    pool = ReplicaSet(servers, factor)
    running: list[tuple[int, int]] = []  # (server, conversation) in flight, one request per conversation
    homes: dict[int, int] = {}  # conversation → server of its last request
    for send, conversation in ops:
        busy = {c for _, c in running}
        if send and conversation not in busy:
            shortest = min(pool.outstanding)
            home = homes.get(conversation)
            server = pool.choose(conversation)
            homes[conversation] = server
            pool.dispatched(server, conversation)
            running.append((server, conversation))
            total = sum(pool.outstanding)
            if server == home:
                assert pool.outstanding[server] <= -(-factor * total // servers) + 1e-9
            else:
                assert pool.outstanding[server] - 1 == shortest
        elif running:
            server, _ = running.pop(conversation % len(running))
            pool.completed(server)
        assert sum(pool.outstanding) == len(running) and min(pool.outstanding) >= 0
