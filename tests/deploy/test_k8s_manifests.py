"""deploy/k8s rendered for every overlay and checked offline: each object against the
Kubernetes schemas (kubernetes-validate) or its custom resource's schema
(deploy/k8s/schemas), then the rules production depends on."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from clinicpay.suite import processes
from tests.deploy.kustomize import render

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.33.0"
CUSTOM_GROUPS = ("kafka.strimzi.io", "keda.sh", "postgresql.cnpg.io")
EVENT_TOPICS = ("clinicpay.invoicing.v1", "clinicpay.payments.v1", "clinicpay.reminders.v1")
PROCESS_NAMES = {
    "invoicing-api", "invoicing-relay", "invoicing-worker", "payments-api", "payments-relay",
    "payments-worker", "reminders-api", "reminders-relay", "reminders-worker", "ledger-worker",
    "ledger-api", "portal",
}  # fmt: skip
# DESIGN.md's flows between our own processes: the portal reads every read model; reminders
# reads contact details from invoicing. Everything else goes through Kafka.
READ_MODELS = ("invoicing-api", "payments-api", "reminders-api", "ledger-api")
REMINDERS = ("reminders-api", "reminders-relay", "reminders-worker")
ALLOWED_FLOWS = {("portal", api) for api in READ_MODELS} | {(r, "invoicing-api") for r in REMINDERS}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|_KEY$|CIPHER|DATABASE_URL|AUTH)")


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> list[dict]:
    return render(K8S / "overlays" / request.param)


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def custom_schema(resource: dict) -> dict:
    group, version = resource["apiVersion"].split("/")
    path = K8S / "schemas" / f"{group}_{resource['kind']}_{version}.yaml"
    assert path.exists(), f"no schema for {resource['apiVersion']} {resource['kind']}"
    return yaml.safe_load(path.read_text())


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


def test_both_overlays_exist():
    assert OVERLAYS == ["dev", "prod"]


def test_every_object_is_valid_against_its_schema(rendered):
    assert rendered
    for resource in rendered:
        name = f"{resource['kind']}/{resource['metadata']['name']}"
        if resource["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            errors = jsonschema.Draft202012Validator(custom_schema(resource)).iter_errors(resource)
            assert [e.message for e in errors] == [], name
        else:
            try:
                kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{name}: {error.message} at {list(error.path)}")
        assert resource["metadata"].get("namespace") or resource["kind"] == "Namespace", name


def test_a_deployment_per_process_running_its_command(rendered):
    deployments = of_kind(rendered, "Deployment")
    assert set(deployments) == PROCESS_NAMES
    for process in processes():  # the processes the code declares today
        (container,) = containers(deployments[process.name])
        assert container["args"][: len(process.args)] == list(process.args), process.name
        assert container["image"].startswith("registry.example.com/clinicpay")


def test_every_container_is_probed_limited_and_unprivileged(rendered):
    for name, deployment in of_kind(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in containers(deployment):
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            port_names = {p["name"] for p in container["ports"]}
            assert container["readinessProbe"]["httpGet"]["port"] in port_names, name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), name
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a writable /tmp on a read-only root"


def test_secrets_are_only_referenced_by_name(rendered):
    assert not [o for o in rendered if o["kind"] == "Secret"]
    for name, deployment in of_kind(rendered, "Deployment").items():
        for container in containers(deployment):
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "value" not in variable, f"{name}: {variable['name']} has a value"
                    assert "secretKeyRef" in variable["valueFrom"], name
    for config in of_kind(rendered, "ConfigMap").values():
        assert not [k for k in config["data"] if SECRET_NAME.search(k)], config["data"].keys()


def test_apis_scale_on_cpu_workers_on_lag_and_relays_stay_at_two(rendered):
    deployments = of_kind(rendered, "Deployment")
    hpas = of_kind(rendered, "HorizontalPodAutoscaler")
    scaled = of_kind(rendered, "ScaledObject")
    by_role = {
        role: {n for n, d in deployments.items() if d["metadata"]["labels"][
            "app.kubernetes.io/component"] == role}
        for role in ("api", "relay", "worker")
    }  # fmt: skip
    assert set(hpas) == by_role["api"] and set(scaled) == by_role["worker"]
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        assert "replicas" not in deployments[name]["spec"], "the HPA owns the replica count"
    for name in by_role["relay"]:
        assert deployments[name]["spec"]["replicas"] == 2
    for name, scaled_object in scaled.items():
        assert scaled_object["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployments[name]["spec"], "KEDA owns the replica count"


def test_no_worker_scales_past_the_partitions_of_what_it_consumes(rendered):
    topics = of_kind(rendered, "KafkaTopic")
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in topics.values()}
    for name, scaled_object in of_kind(rendered, "ScaledObject").items():
        triggers = scaled_object["spec"]["triggers"]
        assert triggers and all(t["type"] == "kafka" for t in triggers), name
        for trigger in triggers:
            topic = trigger["metadata"]["topic"]
            assert scaled_object["spec"]["maxReplicaCount"] <= partitions[topic], (name, topic)
            assert trigger["metadata"]["bootstrapServers"].startswith("clinicpay-kafka-bootstrap")


def test_kafka_replicates_every_topic_three_times_with_equal_partitions(rendered):
    (kafka,) = of_kind(rendered, "Kafka").values()
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    assert config["auto.create.topics.enable"] is False
    pools = of_kind(rendered, "KafkaNodePool").values()
    assert sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"]) >= 3
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered, "KafkaTopic").values()}
    assert set(topics) == set(EVENT_TOPICS) | {f"{t}.dlq" for t in EVENT_TOPICS}
    assert {spec["replicas"] for spec in topics.values()} == {3}
    assert {spec["config"]["min.insync.replicas"] for spec in topics.values()} == {2}
    assert len({spec["partitions"] for spec in topics.values()}) == 1, "equal partition counts"
    config_map = of_kind(rendered, "ConfigMap")["clinicpay-config"]
    assert int(config_map["data"]["TOPIC_PARTITIONS"]) == next(iter(topics.values()))["partitions"]
    assert config_map["data"]["TOPIC_REPLICATION_FACTOR"] == "3"


def test_postgres_is_a_cloudnativepg_cluster_whose_secret_the_processes_read(rendered):
    (cluster,) = of_kind(rendered, "Cluster").values()
    assert cluster["spec"]["instances"] >= 2
    app_secret = f"{cluster['metadata']['name']}-app"  # written by the operator
    for deployment in of_kind(rendered, "Deployment").values():
        (container,) = containers(deployment)
        (database_url,) = [v for v in container["env"] if v["name"] == "DATABASE_URL"]
        assert database_url["valueFrom"]["secretKeyRef"] == {"name": app_secret, "key": "uri"}


def test_every_process_has_a_disruption_budget_and_every_api_a_service_behind_tls(rendered):
    deployments = of_kind(rendered, "Deployment")
    budgets = of_kind(rendered, "PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(budget["spec"]["selector"], labels), name
    services = of_kind(rendered, "Service")
    apis = {n for n, d in deployments.items() if containers(d)[0]["ports"][0]["name"] == "http"}
    assert set(services) == apis
    (ingress,) = of_kind(rendered, "Ingress").values()
    tls_hosts = {h for entry in ingress["spec"]["tls"] for h in entry["hosts"]}
    backends = set()
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts, rule["host"]
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] in services and backend["port"]["name"] == "http"
            assert not path["path"].startswith(("/metrics", "/healthz", "/readyz"))
            backends.add(backend["name"])
    assert backends == apis


def selects(selector: dict, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        present, value = expression["key"] in labels, labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
    return True


def allows(policies: list[dict], direction: str, pod: dict, peer: dict, port) -> bool:
    """Whether the policies that select `pod` let it reach (egress) or be reached by (ingress)
    the pod labelled `peer` on `port`; a pod no policy selects in that direction is open.
    Peers are pods of the namespace (ipBlocks here exclude the private ranges pods use)."""
    kind = direction.capitalize()
    relevant = [
        p
        for p in policies
        if selects(p["spec"]["podSelector"], pod) and kind in p["spec"]["policyTypes"]
    ]
    if not relevant:
        return True
    side = "to" if direction == "egress" else "from"
    for policy in relevant:
        for rule in policy["spec"].get(direction, []):
            peers = rule.get(side)
            peer_ok = peers is None or any(
                set(p) == {"podSelector"} and selects(p["podSelector"], peer) for p in peers
            )
            ports = rule.get("ports")
            if peer_ok and (ports is None or any(p.get("port") == port for p in ports)):
                return True
    return False


def test_network_policies_deny_by_default_and_allow_only_the_designed_flows(rendered):
    policies = list(of_kind(rendered, "NetworkPolicy").values())
    deny = [
        p for p in policies
        if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress") and not p["spec"].get("egress")
    ]  # fmt: skip
    assert deny, "a default-deny policy for every pod in the namespace"
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in of_kind(rendered, "Deployment").items()
    }
    flows = {
        (source, target)
        for source, source_labels in pods.items()
        for target, target_labels in pods.items()
        if source != target
        and allows(policies, "egress", source_labels, target_labels, "http")
        and allows(policies, "ingress", target_labels, source_labels, "http")
    }
    assert flows == ALLOWED_FLOWS
    for name, labels in pods.items():  # every process reaches PostgreSQL and Kafka
        assert allows(policies, "egress", labels, {"cnpg.io/cluster": "clinicpay-db"}, 5432), name
        kafka = {"strimzi.io/cluster": "clinicpay", "strimzi.io/kind": "Kafka"}
        assert allows(policies, "egress", labels, kafka, 9092), name
        assert labels.get("clinicpay.dev/kafka-client") == "true", name
    database = {"cnpg.io/cluster": "clinicpay-db"}
    assert allows(policies, "ingress", database, pods["ledger-worker"], 5432)
    assert not allows(policies, "ingress", database, {"app": "stranger"}, 5432)


def test_the_kafka_listener_admits_only_our_processes_and_keda(rendered):
    (kafka,) = of_kind(rendered, "Kafka").values()
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    peers = listener["networkPolicyPeers"]
    assert {"podSelector": {"matchLabels": {"clinicpay.dev/kafka-client": "true"}}} in peers
    namespaces = [p["namespaceSelector"]["matchLabels"] for p in peers if "namespaceSelector" in p]
    assert namespaces == [{"kubernetes.io/metadata.name": "keda"}]


def test_public_addresses_follow_the_ingress_hosts(rendered):
    (ingress,) = of_kind(rendered, "Ingress").values()
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    config = of_kind(rendered, "ConfigMap")
    for url in (config["clinicpay-config"]["data"]["PORTAL_URL"],
                config["reminders-config"]["data"]["REMINDERS_URL"]):  # fmt: skip
        assert url.startswith("https://") and url.removeprefix("https://") in hosts, url


def test_overlays_differ_only_where_environments_differ():
    dev, prod = (render(K8S / "overlays" / name) for name in ("dev", "prod"))
    kinds = Counter(o["kind"] for o in dev)
    assert kinds == Counter(o["kind"] for o in prod)
    namespaces = {o["metadata"].get("namespace") for o in dev} - {None}
    assert namespaces == {"clinicpay-dev"}
    assert {o["metadata"].get("namespace") for o in prod} - {None} == {"clinicpay"}
