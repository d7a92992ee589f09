from cleaning.graph import connected_components


def test_components_are_labelled_by_their_smallest_id():
    edges = [("d", "b"), ("b", "c"), ("x", "y"), ("c", "a")]
    assert connected_components(edges) == {"a": "a", "b": "a", "c": "a", "d": "a", "x": "x", "y": "x"}


def test_no_edges_no_components():
    assert connected_components([]) == {}
