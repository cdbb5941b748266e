#!/usr/bin/env python3
"""Drive azdeck's simulated Azure with the official Python SDKs.

Usage: check_sdk.py ENV_FILE [--allow-graph-pending] [--only-secret]

Everything is taken from the simulator's env file. Name resolution of the simulator's
host names comes from shim/sitecustomize.py (PYTHONPATH + AZDECK_ENV_FILE) and TLS trust
from REQUESTS_CA_BUNDLE=<caFile>; both are set by ./run, and this script sets them for
itself if they are missing. No SDK behaviour is patched.

Every step prints PASS/FAIL (or PENDING) with a one-line reason; the last line is
"N passed, M failed". The exit status is non-zero when a step failed.
"""
import argparse
import base64
import json
import os
import sys
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def _bootstrap(env_file):
    """Make sure the DNS shim and the CA bundle are in place (re-exec if needed)."""
    env = json.load(open(env_file, encoding="utf-8"))
    want = {
        "AZDECK_ENV_FILE": os.path.abspath(env_file),
        "REQUESTS_CA_BUNDLE": env["caFile"],
    }
    shim_dir = os.path.join(HERE, "shim")
    pp = os.environ.get("PYTHONPATH", "")
    if any(os.environ.get(k) != v for k, v in want.items()) or shim_dir not in pp.split(os.pathsep):
        os.environ.update(want)
        os.environ["PYTHONPATH"] = shim_dir + (os.pathsep + pp if pp else "")
        os.execv(sys.executable, [sys.executable] + sys.argv)
    return env


class Pending(Exception):
    """The step hit a feature the simulator documents as unfinished."""


class Runner:
    def __init__(self, env):
        self.env = env
        self.passed = 0
        self.failed = 0
        self.pending = []
        self.admin = None

    def _sim_seq(self):
        try:
            return self.sim_requests(0, limit_only=True)
        except Exception:  # noqa: BLE001 - diagnostics only
            return None

    def sim_requests(self, since, limit_only=False):
        import requests

        rm = self.env["endpoints"]["resourceManager"].rstrip("/")
        r = requests.get(
            f"{rm}/_sim/requests",
            params={"since": since},
            headers={"Authorization": "Bearer " + self.env["adminToken"]},
            timeout=10,
        )
        r.raise_for_status()
        body = r.json()
        return body["lastSeq"] if limit_only else body["requests"]

    def step(self, name, fn, pending_ok=False):
        seq = self._sim_seq()
        t0 = time.monotonic()
        try:
            reason = fn() or "ok"
            status = "PASS"
        except Pending as e:
            reason = str(e)
            status = "PENDING" if pending_ok else "FAIL"
        except Exception as e:  # noqa: BLE001 - every failure is reported
            reason = _one_line(e)
            status = "FAIL"
            if os.environ.get("AZDECK_CHECK_TRACEBACK"):
                traceback.print_exc()
        dt = time.monotonic() - t0
        print(f"{status} {name} ({dt:.1f}s): {reason}", flush=True)
        if status == "PASS":
            self.passed += 1
        elif status == "PENDING":
            self.pending.append(name)
        else:
            self.failed += 1
            if seq is not None:
                self._dump_requests(seq)
        return status == "PASS"

    def _dump_requests(self, since):
        try:
            reqs = self.sim_requests(since)
        except Exception as e:  # noqa: BLE001
            print(f"    (request log unavailable: {_one_line(e)})")
            return
        for q in reqs[-12:]:
            if q.get("path", "").startswith("/_sim/"):
                continue
            qs = f"?{q['query']}" if q.get("query") else ""
            print(f"    sim saw #{q['seq']}: {q['method']} {q['host']}{q['path']}{qs} -> {q['status']}")


def _one_line(e):
    msg = str(e).strip().splitlines()
    first = msg[0] if msg else ""
    # HttpResponseError: "(Code) message" then "Code: ..." lines; keep the first meaningful one.
    text = f"{type(e).__name__}: {first}"
    return text[:400]


def jwt_claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_pass(r, label, credential, args):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.core.serialization import NULL
    from azure.mgmt.appcontainers import ContainerAppsAPIClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.mgmt.resourcegraph.models import QueryRequest

    env = r.env
    rm = env["endpoints"]["resourceManager"]
    if not rm.endswith("/"):
        rm += "/"
    scope = rm + ".default"
    common = dict(base_url=rm, credential_scopes=[scope])
    subs = {s["name"]: s["id"] for s in env["subscriptions"]}
    prod = subs.get("platform-prod") or env["subscriptions"][0]["id"]
    rg = "rg-platform-prod"
    p = f"[{label}] "

    subscription_client = SubscriptionClient(credential, **common)
    resource_client = ResourceManagementClient(credential, prod, **common)
    apps_client = ContainerAppsAPIClient(credential, prod, **common)
    graph_client = ResourceGraphClient(credential, **common)

    # --- Entra ID --------------------------------------------------------------
    def token():
        tok = credential.get_token(scope)
        c = jwt_claims(tok.token)
        expect(c.get("tid") == env["tenantId"], f"tid {c.get('tid')!r} != {env['tenantId']!r}")
        sp = env["servicePrincipal"]
        expect(c.get("appid") == sp["clientId"], f"appid {c.get('appid')!r} != {sp['clientId']!r}")
        expect(c.get("oid") == sp["objectId"], f"oid {c.get('oid')!r} != {sp['objectId']!r}")
        ttl = tok.expires_on - time.time()
        expect(ttl > 60, f"token expires in {ttl:.0f}s")
        return f"aud={c.get('aud')} tid ok, appid ok, expires in {ttl:.0f}s"

    if not r.step(p + "get token for " + scope, token):
        return  # nothing else can work without a token

    # --- Subscriptions ---------------------------------------------------------
    def list_subscriptions():
        got = {s.display_name: s.subscription_id for s in subscription_client.subscriptions.list()}
        expect(got == subs, f"got {got}, env file says {subs}")
        one = subscription_client.subscriptions.get(prod)
        expect(one.subscription_id == prod and one.state == "Enabled", f"get({prod}) -> {one.state}")
        tenants = [t.tenant_id for t in subscription_client.tenants.list()]
        expect(env["tenantId"] in tenants, f"tenants.list() -> {tenants}")
        return f"{sorted(got)}; get + tenants ok"

    r.step(p + "subscriptions list/get, tenants list", list_subscriptions)

    # --- Resource groups -------------------------------------------------------
    def list_groups():
        names = sorted(g.name for g in resource_client.resource_groups.list())
        expect(rg in names, f"{rg} missing from {names}")
        return ", ".join(names)

    r.step(p + "resource groups list", list_groups)

    def group_lifecycle():
        name = f"rg-azdeck-check-{label}-{uuid.uuid4().hex[:6]}"
        created = resource_client.resource_groups.create_or_update(
            name, {"location": "eastus", "tags": {"purpose": "azdeck-real-clients"}}
        )
        expect(created.name == name and created.location == "eastus", f"create -> {created.name} {created.location}")
        got = resource_client.resource_groups.get(name)
        expect(got.tags == {"purpose": "azdeck-real-clients"}, f"get tags -> {got.tags}")
        expect(got.properties.provisioning_state == "Succeeded", f"state {got.properties.provisioning_state}")
        expect(resource_client.resource_groups.check_existence(name) is True, "HEAD says missing after create")
        resource_client.resource_groups.begin_delete(name).result()
        expect(resource_client.resource_groups.check_existence(name) is False, "HEAD says present after delete")
        try:
            resource_client.resource_groups.get(name)
        except ResourceNotFoundError:
            pass
        else:
            raise AssertionError("GET after delete did not raise ResourceNotFoundError")
        return f"{name}: PUT, GET, HEAD, DELETE (LRO), HEAD/GET 404"

    r.step(p + "resource group create/get/delete", group_lifecycle)

    def list_resources():
        types = sorted({x.type.lower() for x in resource_client.resources.list_by_resource_group(rg)})
        want = {"microsoft.app/containerapps", "microsoft.app/managedenvironments"}
        expect(want <= set(types), f"missing {sorted(want - set(types))} in {types}")
        n_all = sum(1 for _ in resource_client.resources.list())
        expect(n_all >= len(types), f"subscription-wide list has only {n_all}")
        return f"{len(types)} types in {rg}; {n_all} resources in subscription"

    r.step(p + "resources list (group, subscription)", list_resources)

    # --- Resource Graph ---------------------------------------------------------
    def graph():
        q = "Resources | where type =~ 'microsoft.app/containerapps' | project name, resourceGroup"
        try:
            res = graph_client.resources(QueryRequest(subscriptions=[prod], query=q))
        except HttpResponseError as e:
            if e.status_code == 400 and "InvalidQuery" in str(e) + (e.response.text() if e.response else ""):
                # Pending only if the simulator rejects *every* query (its KQL is unfinished).
                for probe in ("Resources", "Resources | project name", "Resources | limit 1"):
                    try:
                        graph_client.resources(QueryRequest(subscriptions=[prod], query=probe))
                    except HttpResponseError as e2:
                        if e2.status_code == 400:
                            continue
                        raise
                    raise AssertionError(f"'{probe}' works but the check's query got 400: {_one_line(e)}")
                raise Pending(f"400 InvalidQuery for every query (KQL unfinished): {_one_line(e)}")
            raise
        rows = res.data
        expect(isinstance(rows, list), f"data is {type(rows).__name__} (expected objectArray)")
        prod_apps = sorted(x["name"] for x in rows if x.get("resourceGroup", "").lower() == rg)
        want = {"dagster-webserver", "dagster-daemon", "dagster-user-code", "chat-api", "chat-worker"}
        expect(want <= set(prod_apps), f"rows {rows}")
        expect(res.total_records == len(rows), f"totalRecords {res.total_records} != {len(rows)} rows")
        return f"{len(rows)} rows; {rg}: {', '.join(prod_apps)}"

    r.step(p + "resource graph query", graph, pending_ok=args.allow_graph_pending)

    # --- Container Apps -----------------------------------------------------------
    def apps_list_get():
        names = sorted(a.name for a in apps_client.container_apps.list_by_resource_group(rg))
        want = {"dagster-webserver", "dagster-daemon", "dagster-user-code", "chat-api", "chat-worker"}
        expect(want <= set(names), f"list_by_resource_group -> {names}")
        n_sub = sum(1 for _ in apps_client.container_apps.list_by_subscription())
        expect(n_sub >= len(names), f"list_by_subscription -> {n_sub}")
        app = apps_client.container_apps.get(rg, "dagster-webserver")
        mode = app.properties.configuration.active_revisions_mode
        expect((mode or "").lower() == "multiple", f"activeRevisionsMode {mode!r}")
        latest = app.properties.latest_revision_name
        expect(latest == "dagster-webserver--v43", f"latestRevisionName {latest}")
        return f"{names}; dagster-webserver mode={getattr(mode, 'value', mode)} latest={latest}"

    r.step(p + "container apps list/get", apps_list_get)

    def revisions_list_get():
        revs = {x.name: x for x in apps_client.container_apps_revisions.list_revisions(rg, "dagster-webserver")}
        want = {"dagster-webserver--v41", "dagster-webserver--v42", "dagster-webserver--v43"}
        expect(want <= set(revs), f"list_revisions -> {sorted(revs)}")
        v43 = apps_client.container_apps_revisions.get_revision(rg, "dagster-webserver", "dagster-webserver--v43")
        pr = v43.properties
        expect(pr.active is True and pr.traffic_weight == 100, f"v43 active={pr.active} traffic={pr.traffic_weight}")
        expect((pr.health_state or "").lower() == "unhealthy", f"v43 healthState={pr.health_state!r}")
        for field in ("created_time", "replicas", "provisioning_state", "running_state", "template"):
            expect(getattr(pr, field) is not None, f"v43 has no {field}")
        summary = ", ".join(f"{n.split('--')[1]}:{'A' if v.properties.active else 'i'}" for n, v in sorted(revs.items()))
        return f"{summary}; v43 Unhealthy 100%"

    r.step(p + "revisions list/get", revisions_list_get)

    def revision_active(name):
        return apps_client.container_apps_revisions.get_revision(rg, "dagster-webserver", name).properties.active

    v41 = "dagster-webserver--v41"

    def activate():
        expect(revision_active(v41) is False, "v41 is already active before the test")
        apps_client.container_apps_revisions.activate_revision(rg, "dagster-webserver", v41)
        expect(revision_active(v41) is True, "get_revision(v41).active is not True after activate")
        listed = {x.name: x.properties.active for x in apps_client.container_apps_revisions.list_revisions(rg, "dagster-webserver")}
        expect(listed.get(v41) is True, f"list_revisions says v41 active={listed.get(v41)}")
        return "v41 active False -> True (get and list)"

    def deactivate():
        apps_client.container_apps_revisions.deactivate_revision(rg, "dagster-webserver", v41)
        expect(revision_active(v41) is False, "get_revision(v41).active is not False after deactivate")
        return "v41 active True -> False"

    r.step(p + "activate_revision dagster-webserver--v41", activate)
    r.step(p + "deactivate_revision dagster-webserver--v41", deactivate)

    def restart():
        v42 = "dagster-webserver--v42"
        since = r.sim_requests(0, limit_only=True)
        apps_client.container_apps_revisions.restart_revision(rg, "dagster-webserver", v42)
        seen = [q for q in r.sim_requests(since) if q["method"] == "POST" and q["path"].lower().endswith(f"/revisions/{v42}/restart")]
        expect(seen and seen[-1]["status"] == 200, f"simulator log: {seen}")
        pr = apps_client.container_apps_revisions.get_revision(rg, "dagster-webserver", v42).properties
        expect(pr.active is True, f"v42 active={pr.active} after restart")
        return f"POST .../{v42}/restart -> 200; runningState={getattr(pr.running_state, 'value', pr.running_state)}"

    r.step(p + "restart_revision dagster-webserver--v42", restart)

    def secrets():
        checked = []
        for app in apps_client.container_apps.list_by_resource_group(rg):
            declared = sorted(s.name for s in (app.properties.configuration.secrets or []))
            if not declared:
                continue
            got = apps_client.container_apps.list_secrets(rg, app.name).value
            names = sorted(s.name for s in got)
            expect(names == declared, f"{app.name}: list_secrets {names} != configuration.secrets {declared}")
            expect(all(s.value or s.key_vault_url for s in got), f"{app.name}: a secret came back without value")
            checked.append(f"{app.name}({len(names)})")
        if not checked:
            got = apps_client.container_apps.list_secrets(rg, "dagster-webserver").value
            return f"no app declares secrets; list_secrets(dagster-webserver) -> {len(got)}"
        return ", ".join(checked)

    r.step(p + "list_secrets", secrets)

    def update_image():
        app_name = "chat-worker"
        before = {x.name for x in apps_client.container_apps_revisions.list_revisions(rg, app_name)}
        app = apps_client.container_apps.get(rg, app_name)
        template = app.properties.template
        old = template.containers[0].image
        new = f"{old.rsplit(':', 1)[0]}:azdeck-check-{label}-{uuid.uuid4().hex[:6]}"
        template.containers[0].image = new
        # Like `az containerapp update`: send revisionSuffix null so the service names the
        # new revision (the GET returns the current suffix, which cannot be reused).
        template.revision_suffix = NULL
        poller = apps_client.container_apps.begin_update(rg, app_name, {"properties": {"template": template}})
        result = poller.result()
        expect(result is not None and result.properties.template.containers[0].image == new,
               f"LRO result image {result and result.properties.template.containers[0].image}")
        after = {x.name: x for x in apps_client.container_apps_revisions.list_revisions(rg, app_name)}
        fresh = sorted(set(after) - before)
        expect(len(fresh) == 1, f"new revisions {fresh} (before {sorted(before)})")
        rev = after[fresh[0]]
        expect(rev.properties.template.containers[0].image == new, f"{fresh[0]} image {rev.properties.template.containers[0].image}")
        latest = apps_client.container_apps.get(rg, app_name).properties.latest_revision_name
        expect(latest == fresh[0], f"latestRevisionName {latest} != {fresh[0]}")
        return f"PATCH (LRO) image -> {new.rsplit('/', 1)[-1]}; new revision {fresh[0]}"

    r.step(p + "begin_update chat-worker image -> new revision", update_image)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("env_file")
    ap.add_argument("--allow-graph-pending", action="store_true",
                    help="report Resource Graph as PENDING (not FAIL) if the simulator rejects every query as InvalidQuery")
    ap.add_argument("--only-secret", action="store_true", help="skip the WorkloadIdentityCredential pass")
    args = ap.parse_args()
    env = _bootstrap(args.env_file)

    from azure.identity import ClientSecretCredential, WorkloadIdentityCredential

    r = Runner(env)
    sp = env["servicePrincipal"]
    authority = env["endpoints"]["activeDirectory"]

    cred = ClientSecretCredential(env["tenantId"], sp["clientId"], sp["clientSecret"],
                                  authority=authority, disable_instance_discovery=True)
    run_pass(r, "secret", cred, args)

    if not args.only_secret:
        wcred = WorkloadIdentityCredential(tenant_id=env["tenantId"], client_id=sp["clientId"],
                                           token_file_path=env["federatedTokenFile"],
                                           authority=authority, disable_instance_discovery=True)
        run_pass(r, "workload", wcred, args)

    if r.pending:
        print(f"pending (not counted): {', '.join(r.pending)}")
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
