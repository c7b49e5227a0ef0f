"""The architecture diagram is drawn from the program, and the checked-in copy is current."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from offline import diagram
from offline.engine import Snapshot, run_program

FAN_OUT = '''
import json
import pulumi_aws as aws

bus = aws.cloudwatch.EventBus("orders")
rule = aws.cloudwatch.EventRule("orders-placed", event_bus_name=bus.name, event_pattern=json.dumps(
    {"source": ["ecommerce.orders"], "detail-type": ["order.placed"]}))
for consumer in ("fulfillment", "email"):
    dlq = aws.sqs.Queue(f"{consumer}-dlq")
    queue = aws.sqs.Queue(f"{consumer}", redrive_policy=dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
    aws.cloudwatch.EventTarget(f"{consumer}-target", rule=rule.name, event_bus_name=bus.name,
                               arn=queue.arn, dead_letter_config={"arn": dlq.arn})
    function = aws.lambda_.Function(f"{consumer}-consumer", role="arn:aws:iam::123456789012:role/x",
                                    runtime="python3.12", handler="h.handler", code=None)
    aws.lambda_.EventSourceMapping(f"{consumer}-mapping", event_source_arn=queue.arn,
                                   function_name=function.name)
'''


def test_the_checked_in_diagram_is_current(prod: Snapshot) -> None:
    # GIVEN the prod stack as the program builds it today
    # THEN docs/diagram.mmd, docs/diagram.svg and the block in docs/architecture.md match it
    assert diagram.stale_files(prod) == [], "run `.venv/bin/python -m offline.diagram` and commit docs/"


def test_graphviz_draws_every_node_and_edge(prod: Snapshot) -> None:
    # GIVEN Graphviz, which `make test` installs (scripts/install-system-packages.sh)
    assert shutil.which("dot"), "Graphviz `dot` is missing: run scripts/install-system-packages.sh"
    drawing = diagram.build(prod)

    # WHEN the diagram is rendered to SVG
    svg = diagram.to_svg(diagram.to_dot(drawing))

    # THEN every node and edge is in it, and it records the source it was drawn from
    titles = set(re.findall(r"<title>([^<]*)</title>", svg))
    nodes = {n.id for n in diagram._all_nodes(drawing)}
    assert nodes and nodes <= titles
    anchors = diagram._anchors(drawing.groups)  # an edge to a group is drawn to a node inside it
    ends = {(anchors[e.source] if e.source_group else e.source,
             anchors[e.target] if e.target_group else e.target) for e in drawing.edges}
    assert {f"{source}&#45;&gt;{target}" for source, target in ends} <= titles
    assert diagram.recorded_digest(svg) == diagram.source_digest(diagram.to_dot(drawing))


def test_the_event_fan_out_is_drawn_from_the_dependencies(tmp_path: Path) -> None:
    # GIVEN a bus whose rule fans order.placed out to a queue per consumer, each with a DLQ and
    # a Lambda consumer
    program = tmp_path / "__main__.py"
    program.write_text(FAN_OUT)
    snapshot = run_program("prod", program=program)

    # WHEN the diagram is built
    drawing = diagram.build(snapshot)
    edges = {(e.source, e.target, e.style, e.label) for e in drawing.edges}

    # THEN the rule and targets collapse into bus -> queue edges labelled with the event,
    # each queue feeds its function, and the DLQ is a dlq edge from the queue and the target
    for consumer in ("fulfillment", "email"):
        assert ("eventbus_orders", f"queue_{consumer}", "flow", "order.placed") in edges
        assert (f"queue_{consumer}", f"function_{consumer}_consumer", "flow", "") in edges
        assert (f"queue_{consumer}", f"queue_{consumer}_dlq", "dlq", "") in edges
        assert ("eventbus_orders", f"queue_{consumer}_dlq", "dlq", "") in edges
    assert len(edges) == 8
    mermaid = diagram.to_mermaid(drawing)
    assert "eventbus_orders -->|order.placed| queue_email" in mermaid
    assert "queue_email -.->|DLQ| queue_email_dlq" in mermaid


def test_the_architecture_block_is_replaced_in_place() -> None:
    old_block = diagram.architecture_block("flowchart LR\n  old\n")
    document = f"# A\n\nbefore\n\n{old_block}\n\nafter\n"

    updated = diagram.with_block(document, "flowchart LR\n  new\n")

    assert "  new\n" in updated and "  old\n" not in updated
    assert updated.startswith("# A\n\nbefore\n\n") and updated.endswith("\n\nafter\n")


def test_uses_arrows_are_bundled_per_group() -> None:
    # GIVEN two services in one group that both read both tables of another group
    def node(id_: str, shape: str) -> diagram.Node:
        return diagram.Node(id_, f"urn:{id_}", id_, diagram.Kind(id_, shape))

    services = diagram.Group("tier_web", "web tier", (node("svc_a", "compute"), node("svc_b", "compute")), ())
    tables = diagram.Group("c_tables", "tables", (node("t1", "store"), node("t2", "store")), ())
    edges = {diagram.Edge(s, t, "uses", "") for s in ("svc_a", "svc_b") for t in ("t1", "t2")}
    flow = diagram.Edge("svc_a", "t1", "flow", "")

    # WHEN the arrows are bundled
    bundled = diagram._bundle(edges | {flow}, [services, tables])

    # THEN one arrow goes from the group to the group, and other kinds of arrows stay as they are
    assert bundled == {diagram.Edge("tier_web", "c_tables", "uses", "", source_group=True,
                                    target_group=True), flow}
