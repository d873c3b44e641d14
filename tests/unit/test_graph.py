"""Graph checks and walk order on hand-built revision lists (no files, no database)."""

from __future__ import annotations

from pathlib import Path

from migration_gate.chain.graph import graph_findings, heads, walk_order
from migration_gate.chain.revisions import RevisionInfo


def rev(rid: str, *parents: str, depends: tuple[str, ...] = ()) -> RevisionInfo:
    return RevisionInfo(
        revision=rid, down_revisions=parents, path=Path(f"versions/{rid}.py"), depends_on=depends
    )


def checks(revs: list[RevisionInfo]) -> list[str]:
    return [f.check for f in graph_findings(revs)]


def test_linear_chain_is_clean_and_walks_base_first() -> None:
    revs = [rev("c", "b"), rev("a"), rev("b", "a")]
    assert checks(revs) == []
    assert walk_order(revs) == ["a", "b", "c"]
    assert heads(revs) == ["c"]


def test_two_heads_are_reported_with_merge_hint() -> None:
    revs = [rev("a"), rev("b", "a"), rev("c", "a")]
    found = graph_findings(revs)
    assert [f.check for f in found] == ["multiple-heads"]
    assert "alembic merge" in found[0].message and "b c" in found[0].message
    assert found[0].dialect is None


def test_merge_revision_comes_after_both_parents() -> None:
    revs = [rev("m", "b", "c"), rev("a"), rev("c", "a"), rev("b", "a")]
    order = walk_order(revs)
    assert order.index("m") > order.index("b") and order.index("m") > order.index("c")
    assert checks(revs) == []


def test_depends_on_orders_across_branches() -> None:
    revs = [rev("a"), rev("x"), rev("b", "a", depends=("y",)), rev("y", "x")]
    order = walk_order(revs)
    assert order.index("b") > order.index("y")


def test_duplicate_revision_names_both_files() -> None:
    revs = [rev("a"), rev("a"), rev("b", "a")]
    found = [f for f in graph_findings(revs) if f.check == "duplicate-revision"]
    assert len(found) == 1 and found[0].details["files"] == ["versions/a.py", "versions/a.py"]


def test_broken_down_revision_is_reported_and_left_out_of_the_walk() -> None:
    revs = [rev("a"), rev("b", "zz"), rev("c", "b")]
    assert "broken-down-revision" in checks(revs)
    assert walk_order(revs) == ["a"]


def test_ancestors_follow_parents_and_depends_on() -> None:
    from migration_gate.chain.graph import ancestors

    revs = [
        rev("a"),
        rev("b", "a"),
        rev("c", "a"),
        rev("d", "b", depends=("c",)),
        rev("e", "d"),
    ]
    assert ancestors(revs, ["d"]) == {"a", "b", "c", "d"}
    assert ancestors(revs, ["c"]) == {"a", "c"}
    assert ancestors(revs, []) == set()
