"""Drives Garrison's outpost APIs with the official authentik-client package, unmodified:
providers, applications, outposts (with filters, health, default settings, used_by), service
connections, certificate keypairs, brands and blueprint instances (with apply and import). Prints one line per call; exits 1 if any failed.
Run through scripts/client-check.sh, which starts a Garrison for it."""
import os
import sys
import uuid

import authentik_client as ak
from authentik_client.models import *  # noqa: F403 (the client's request models)

cfg = ak.Configuration(host=os.environ["GARRISON_URL"] + "/api/v3", access_token=os.environ["GARRISON_TOKEN"])
api = ak.ApiClient(cfg)
prov = ak.ProvidersApi(api); core = ak.CoreApi(api); out = ak.OutpostsApi(api); crypto = ak.CryptoApi(api)
managed = ak.ManagedApi(api)
flow = uuid.uuid4()
failures = 0
def step(name, f):
    global failures
    try:
        r = f(); print("ok  ", name); return r
    except Exception as e:
        failures += 1
        print("FAIL", name, type(e).__name__, str(e)[:600])
p = step("proxy create", lambda: prov.providers_proxy_create(ProxyProviderRequest(name="p1", authorization_flow=flow, invalidation_flow=flow, external_host="https://app.example", internal_host="http://127.0.0.1:8000", mode=ProxyMode.PROXY)))
l = step("ldap create", lambda: prov.providers_ldap_create(LDAPProviderRequest(name="l1", authorization_flow=flow, invalidation_flow=flow, base_dn="DC=example,DC=com")))
r = step("radius create", lambda: prov.providers_radius_create(RadiusProviderRequest(name="r1", authorization_flow=flow, invalidation_flow=flow)))
rac = step("rac create", lambda: prov.providers_rac_create(RACProviderRequest(name="rac1", authorization_flow=flow)))
step("proxy list", lambda: prov.providers_proxy_list(name__iexact="p1"))
step("all list", lambda: prov.providers_all_list())
step("all types", lambda: prov.providers_all_types_list())
if p: step("proxy patch", lambda: prov.providers_proxy_partial_update(p.pk, PatchedProxyProviderRequest(cookie_domain="example")))
if p: step("proxy retrieve", lambda: prov.providers_proxy_retrieve(p.pk))
if p: step("proxy used_by", lambda: prov.providers_proxy_used_by_list(p.pk))
app = step("app create", lambda: core.core_applications_create(ApplicationRequest(name="App", slug="app", provider=p.pk if p else None)))
step("app list", lambda: core.core_applications_list())
step("app retrieve", lambda: core.core_applications_retrieve("app"))
step("app patch", lambda: core.core_applications_partial_update("app", PatchedApplicationRequest(meta_description="hi")))
o = step("outpost create", lambda: out.outposts_instances_create(OutpostRequest(name="o1", type=OutpostTypeEnum.PROXY, providers=[p.pk], config={"authentik_host": "http://localhost"})))
step("outpost list", lambda: out.outposts_instances_list(name__iexact="o1"))
step("outpost list filters", lambda: out.outposts_instances_list(providers_by_pk=[p.pk], providers__isnull=False, managed__icontains="", service_connection__name__iexact=""))
if o: step("outpost retrieve", lambda: out.outposts_instances_retrieve(o.pk))
if o: step("outpost patch", lambda: out.outposts_instances_partial_update(o.pk, PatchedOutpostRequest(name="o1-renamed")))
if o: step("outpost put", lambda: out.outposts_instances_update(o.pk, OutpostRequest(name="o1", type=OutpostTypeEnum.PROXY, providers=[p.pk], config={})))
if o: step("outpost health", lambda: out.outposts_instances_health_list(o.pk))
step("default settings", lambda: out.outposts_instances_default_settings_retrieve())
if o: step("outpost used_by", lambda: out.outposts_instances_used_by_list(o.pk))
step("outposts proxy list", lambda: out.outposts_proxy_list())
step("outposts ldap list", lambda: out.outposts_ldap_list())
step("outposts radius list", lambda: out.outposts_radius_list())
d = step("docker create", lambda: out.outposts_service_connections_docker_create(DockerServiceConnectionRequest(name="local docker", local=True, url="unix:///var/run/docker.sock")))
k = step("k8s create", lambda: out.outposts_service_connections_kubernetes_create(KubernetesServiceConnectionRequest(name="local k8s", local=True, kubeconfig={})))
step("sc all list", lambda: out.outposts_service_connections_all_list())
step("sc types", lambda: out.outposts_service_connections_all_types_list())
if d: step("sc state", lambda: out.outposts_service_connections_all_state_retrieve(d.pk))
if d: step("sc docker patch", lambda: out.outposts_service_connections_docker_partial_update(d.pk, PatchedDockerServiceConnectionRequest(url="unix:///run/docker.sock")))
if d: step("sc docker list", lambda: out.outposts_service_connections_docker_list(local=True))
if k: step("sc k8s retrieve", lambda: out.outposts_service_connections_kubernetes_retrieve(k.pk))
if k: step("sc k8s list", lambda: out.outposts_service_connections_kubernetes_list())
if d and o: step("outpost with sc", lambda: out.outposts_instances_partial_update(o.pk, PatchedOutpostRequest(service_connection=d.pk)))
kp = step("cert generate", lambda: crypto.crypto_certificatekeypairs_generate_create(CertificateGenerationRequest(common_name="x.example", validity_days=30)))
step("cert list", lambda: crypto.crypto_certificatekeypairs_list())
if kp: step("cert view", lambda: crypto.crypto_certificatekeypairs_view_certificate_retrieve(kp.pk))
b = step("brand create", lambda: core.core_brands_create(BrandRequest(domain="id.example", default=True, web_certificate=kp.pk if kp else None)))
step("brand list", lambda: core.core_brands_list())
step("brand current", lambda: core.core_brands_current_retrieve())
if o: step("outpost delete", lambda: out.outposts_instances_destroy(o.pk))
if d: step("sc delete", lambda: out.outposts_service_connections_all_destroy(d.pk))
if p: step("proxy delete", lambda: prov.providers_proxy_destroy(p.pk))
BP = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: from-client\n"
bi = step("blueprint create", lambda: managed.managed_blueprints_create(BlueprintInstanceRequest(name="client-bp", content=BP, context={})))
step("blueprint list", lambda: managed.managed_blueprints_list(name="client-bp"))
if bi: step("blueprint retrieve", lambda: managed.managed_blueprints_retrieve(bi.pk))
if bi: step("blueprint patch", lambda: managed.managed_blueprints_partial_update(bi.pk, PatchedBlueprintInstanceRequest(enabled=True)))
if bi:
    applied = step("blueprint apply", lambda: managed.managed_blueprints_apply_create(bi.pk))
    if applied is not None and str(applied.status.value if hasattr(applied.status, "value") else applied.status) != "successful":
        failures += 1; print("FAIL blueprint apply status", applied.status)
step("blueprint available", lambda: managed.managed_blueprints_available_list())
if bi: step("blueprint used_by", lambda: managed.managed_blueprints_used_by_list(bi.pk))
imported = step("blueprint import", lambda: managed.managed_blueprints_import_create(file=BP.replace("from-client", "imported-by-client").encode()))
if imported is not None and not imported.success:
    failures += 1; print("FAIL blueprint import success", imported)
if bi: step("blueprint delete", lambda: managed.managed_blueprints_destroy(bi.pk))
print("failures:", failures)
sys.exit(1 if failures else 0)
