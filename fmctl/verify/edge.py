"""The nginx edge against the spec's route table (gateway.routes).

Over HTTP on the edge address only, as a client sees it:
- a path no route serves gets nginx's own 404;
- a route that needs credentials refuses a request without them (401);
- a route answers a request it accepts from its upstream: nginx marks every
  proxied answer with X-Edge-Route: <route>. While the app is absent the
  upstream answer is 502, which is reported (live=502) and accepted: the
  edge did its part; the app's own checks say whether the app runs;
- a method outside route.methods gets 405.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from fmctl import filters
from fmctl.verify.report import Check, Context

C = "edge"
TIMEOUT = 10
# A credential shaped like the real one: the edge only checks that one is presented.
PROBE_AUTH = {"Authorization": "Bearer edge-verifier-probe"}


def checks(ctx: Context) -> Iterator[Check]:
    g = ctx.spec.gateway
    base = f"http://{ctx.address(g.edge_host)}:{g.http_port}"
    session = requests.Session()
    try:
        unrouted = session.get(f"{base}/edge-verifier/no-such-route", timeout=TIMEOUT)
    except requests.RequestException as exc:
        yield Check(C, f"nginx answers on {base}", "answers", f"unreachable ({type(exc).__name__})", ok=False)
        return
    yield Check(C, "a path no route serves", 404, unrouted.status_code)

    for route in filters.edge_routes(ctx.data):
        name, path = route["name"], route["path"]
        if route["auth_required"]:
            bare = session.get(f"{base}{path}", timeout=TIMEOUT)
            yield Check(C, f"route {name} {path} without credentials", 401, bare.status_code)
        method = route["methods"][0]
        resp = session.request(method, f"{base}{path}", headers=PROBE_AUTH, timeout=TIMEOUT)
        matched = resp.headers.get("X-Edge-Route")
        # The route proxied the request; 502/504 means the app behind it is not running (yet).
        live = f"{matched} (HTTP {resp.status_code})" if matched else f"no route header (HTTP {resp.status_code})"
        ok = matched == name
        yield Check(C, f"route {name} {method} {path} reaches {route['upstream']} at {route['upstream_address']}",
                    f"{name} (proxied)", live, ok=ok)
        refused = next((m for m in ("DELETE", "PUT", "POST", "GET") if m not in route["methods"]), None)
        if refused:
            other = session.request(refused, f"{base}{path}", headers=PROBE_AUTH, timeout=TIMEOUT)
            yield Check(C, f"route {name} {refused} {path} (method not in the route)", 405, other.status_code)
