"""Concurrent mixed writes over HTTP against a running Revenda, and the check that every acknowledged
write is there afterwards. Shared by tests/core/test_concurrent_writes.py (werkzeug in a thread) and
bench/bench_load.py (gunicorn + the Celery worker, as ``make run`` serves).

Each thread owns a few clients of the partner (created through the API before the load starts), so
the writes to one client happen in order and its final state is known: the last acknowledged
status, trade name (panel form), integration key and certificate. New clients are created through
the API under load too. The writes are what two managers and an integration do at the same moment:
API client creation, contract status change, integration-key rotation, the panel's client form (a
logged-in manager, CSRF on) and a PFX upload."""

import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from stdnum.br import cnpj as stdnum_cnpj

from tests.certificates import pfxgen

OPS = ("create_client", "status", "rotate_key", "panel_edit", "upload_pfx")
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')
ADDRESS = {"cep": "01310-100", "street": "Av. Paulista", "number": "1578", "complement": "",
           "district": "Bela Vista", "city": "São Paulo", "state": "SP"}


def load_cnpj(n: int) -> str:
    base = f"{61_000_000 + n:08d}0001"
    return base + stdnum_cnpj.calc_check_digits(base)


@dataclass
class Outcome:
    op: str
    status: int  # 0: no HTTP answer (connection error, timeout)
    ms: float
    error: str = ""


@dataclass
class Owned:
    """A client one thread writes to, and what its last acknowledged writes left."""

    id: int
    cnpj: str
    email: str
    status: str
    trade_name: str | None = None
    key_last4: str | None = None
    fingerprint: str | None = None
    pfx: list = field(default_factory=list)


class LoadMix:
    def __init__(self, base_url: str, api_token: str, manager_email: str, manager_password: str, *,
                 threads: int = 24, requests_total: int = 120, clients_per_thread: int = 2, seed: int = 0):
        self.base = base_url.rstrip("/")
        self.api_headers = {"Authorization": f"Bearer {api_token}"}
        self.manager = (manager_email, manager_password)
        self.threads, self.total, self.per_thread = threads, requests_total, clients_per_thread
        self.seed = seed  # keeps CNPJs apart when one database sees several runs
        self.owned: list[list[Owned]] = []
        self.created: list[str] = []  # CNPJs of clients whose creation was acknowledged under load
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._next_cnpj = 0
        self.counts = [requests_total // threads + (1 if t < requests_total % threads else 0) for t in range(threads)]

    # -- set-up (not measured) -------------------------------------------------------------------

    def prepare(self) -> None:
        http = requests.Session()
        plans = http.get(f"{self.base}/api/v1/plans", headers=self.api_headers, timeout=30).json()["items"]
        plan = next(p for p in plans if p.get("is_active", True))
        self.plan_id, self.software_id = plan["id"], plan["software_id"]
        self.cookies, self.csrf = self._login()
        for t in range(self.threads):
            uploads = Counter(i % self.per_thread for i in range(self.counts[t]) if self._op(t, i) == "upload_pfx")
            mine = []
            for n in range(self.per_thread):
                body = self._client_body()
                for _attempt in range(30):  # set-up, not measured: a server without the fix may fail it
                    response = http.post(f"{self.base}/api/v1/clients", json=body, headers=self.api_headers,
                                         timeout=30)
                    if response.status_code < 500:
                        break
                    time.sleep(0.2)
                response.raise_for_status()
                data = response.json()
                owned = Owned(data["id"], data["cnpj"], data["email"], data["status"], trade_name=data["trade_name"])
                owned.pfx = [pfxgen.ecnpj_pfx(owned.cnpj) for _ in range(uploads[n])]  # a new certificate each time
                mine.append(owned)
            self.owned.append(mine)

    @staticmethod
    def _op(t: int, i: int) -> str:
        return OPS[(t + i) % len(OPS)]

    def _login(self):
        http = requests.Session()
        page = http.get(f"{self.base}/login", timeout=30).text
        email, password = self.manager
        response = http.post(f"{self.base}/login", data={"email": email, "password": password,
                                                          "csrf_token": _csrf(page)},
                             allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise RuntimeError(f"manager login answered {response.status_code}")
        panel = http.get(f"{self.base}/painel", timeout=30).text
        return http.cookies.get_dict(), _csrf(panel)

    def _client_body(self) -> dict:
        with self._lock:
            self._next_cnpj += 1
            n = self.seed * 100_000 + self._next_cnpj
        return {
            "legal_name": f"Carga {n} Comércio Ltda", "trade_name": f"Carga {n}", "cnpj": load_cnpj(n),
            "email": f"carga{n}@clientes.example", "phone": "(11) 98765-4321", "address": dict(ADDRESS),
            "software_id": self.software_id, "plan_id": self.plan_id, "payer": "client", "accountant_email": None,
        }

    # -- the load ------------------------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        barrier = threading.Barrier(self.threads)
        workers = [threading.Thread(target=self._worker, args=(t, self.counts[t], barrier)) for t in range(self.threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.elapsed = time.perf_counter() - started
        return self.outcomes

    def _worker(self, t: int, count: int, barrier) -> None:
        api = requests.Session()
        api.headers.update(self.api_headers)
        panel = requests.Session()
        panel.cookies.update(self.cookies)
        barrier.wait()
        for i in range(count):
            op = self._op(t, i)
            owned = self.owned[t][i % self.per_thread]
            started = time.perf_counter()
            try:
                status = getattr(self, f"_{op}")(api, panel, owned, t, i)
                error = ""
            except requests.RequestException as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            outcome = Outcome(op, status, (time.perf_counter() - started) * 1000, error)
            with self._lock:
                self.outcomes.append(outcome)

    def _create_client(self, api, panel, owned, t, i) -> int:
        body = self._client_body()
        response = api.post(f"{self.base}/api/v1/clients", json=body, timeout=60)
        if response.status_code == 201:
            with self._lock:
                self.created.append(body["cnpj"])
        return response.status_code

    def _status(self, api, panel, owned, t, i) -> int:
        target = "active" if owned.status == "blocked" else "blocked"
        body = {"status": target, "reason": "manual"} if target == "blocked" else {"status": target}
        response = api.post(f"{self.base}/api/v1/clients/{owned.id}/status", json=body, timeout=60)
        if response.status_code == 200:
            owned.status = response.json()["status"]
        return response.status_code

    def _rotate_key(self, api, panel, owned, t, i) -> int:
        response = api.post(f"{self.base}/api/v1/clients/{owned.id}/integration-key/rotate",
                            json={"grace_seconds": 0}, timeout=60)
        if response.status_code == 201:
            owned.key_last4 = response.json()["last4"]
        return response.status_code

    def _panel_edit(self, api, panel, owned, t, i) -> int:
        name = f"Editado {t}-{i}"
        form = {"legal_name": f"Cliente {owned.cnpj} Ltda", "trade_name": name, "cnpj": owned.cnpj,
                "email": owned.email, "phone": "11987654321", "accountant_email": "", "csrf_token": self.csrf,
                **ADDRESS}
        response = panel.post(f"{self.base}/clientes/{owned.id}/editar", data=form, allow_redirects=False,
                              timeout=60)
        if response.status_code == 302:
            owned.trade_name = name
        return response.status_code

    def _upload_pfx(self, api, panel, owned, t, i) -> int:
        data = owned.pfx.pop()
        response = api.put(f"{self.base}/api/v1/clients/{owned.id}/certificate",
                           files={"file": ("certificado.pfx", data, "application/x-pkcs12")},
                           data={"password": pfxgen.PASSWORD}, timeout=60)
        if response.status_code == 200:
            owned.fingerprint = response.json()["fingerprint_sha256"]
        return response.status_code

    # -- after -------------------------------------------------------------------------------------

    def missing_writes(self) -> list[str]:
        """Every acknowledged write, read back through the API: what is not there (or not as left)."""
        http = requests.Session()
        http.headers.update(self.api_headers)
        problems = []

        def read(path: str, **params):
            response = http.get(f"{self.base}/api/v1{path}", params=params, timeout=30)
            if response.status_code != 200:
                problems.append(f"GET {path} answered {response.status_code}")
                return None
            return response.json()

        for cnpj in self.created:
            found = read("/clients", q=cnpj)
            if found is not None and [c["cnpj"] for c in found["items"]] != [cnpj]:
                problems.append(f"created client {cnpj} not found")
        for owned in (o for mine in self.owned for o in mine):
            client = read(f"/clients/{owned.id}")
            if client is not None and (client["status"], client["trade_name"]) != (owned.status, owned.trade_name):
                problems.append(f"client {owned.id}: {client['status']}/{client['trade_name']!r}, "
                                f"acknowledged {owned.status}/{owned.trade_name!r}")
            key = read(f"/clients/{owned.id}/integration-key")
            last4 = ((key or {}).get("current") or {}).get("last4")
            if key is not None and owned.key_last4 is not None and last4 != owned.key_last4:
                problems.append(f"client {owned.id}: key …{last4}, acknowledged …{owned.key_last4}")
            cert = read(f"/clients/{owned.id}/certificate")
            if cert is not None and owned.fingerprint is not None and cert["fingerprint_sha256"] != owned.fingerprint:
                problems.append(f"client {owned.id}: certificate {cert['fingerprint_sha256']}, "
                                f"acknowledged {owned.fingerprint}")
        return problems

    def report(self) -> str:
        statuses = Counter(o.status for o in self.outcomes)
        times = sorted(o.ms for o in self.outcomes)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        lines = [
            f"requests: {len(self.outcomes)} from {self.threads} threads in {self.elapsed:.1f} s",
            "statuses: " + ", ".join(f"{code or 'no answer'} × {n}" for code, n in sorted(statuses.items())),
            f"latency: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms",
        ]
        for op in OPS:
            mine = Counter(o.status for o in self.outcomes if o.op == op)
            lines.append(f"  {op:<14} " + ", ".join(f"{code or 'no answer'} × {n}" for code, n in sorted(mine.items())))
        errors = Counter(o.error for o in self.outcomes if o.error)
        lines += [f"  error: {e} × {n}" for e, n in errors.most_common(3)]
        return "\n".join(lines)

    def server_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status >= 500 or o.status == 0]


def _csrf(html: str) -> str:
    match = CSRF_RE.search(html)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)
