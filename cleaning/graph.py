"""Connected components of a small graph, in plain Python (union-find).

The near-duplicate step collects its verified pairs to the driver and runs this:
fine while pairs number in the hundreds of thousands (a few tens of MB). When
that stops being true, replace it with iterative label propagation in Spark
(join edges with labels, take the minimum, repeat until nothing changes).
"""

from __future__ import annotations

from collections.abc import Iterable


def connected_components(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map every node that has an edge to its component's label: the smallest node id in it."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression keeps later finds short
            parent[node], node = root, parent[node]
        return root

    for left, right in edges:
        parent.setdefault(left, left)
        parent.setdefault(right, right)
        a, b = find(left), find(right)
        if a != b:
            # The smaller id becomes the root, so the label is deterministic.
            parent[max(a, b)] = min(a, b)
    return {node: find(node) for node in parent}
