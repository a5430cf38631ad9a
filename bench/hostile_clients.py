#!/usr/bin/env python3
"""Issue 15 bar: 2,000 idle TLS connections + 200 stalled uploads against `reggate serve` on loopback.
Records the gateway's RSS (VmRSS) before, during and after; checks a well-behaved client meanwhile.
Bounded: every phase has a deadline; the gateway is stopped at the end.

usage: bench/hostile_clients.py BINARY [IDLE_CONNS] [STALLED] [ROUNDS]
"""
import asyncio, hashlib, json, os, signal, ssl, subprocess, sys, time

BIN = os.path.abspath(sys.argv[1])
IDLE = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
STALLED = int(sys.argv[3]) if len(sys.argv) > 3 else 200
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 2
HALF = int(sys.argv[5]) if len(sys.argv) > 5 else 200  # half-sent request heads
ROOT = os.environ.get("ROOT", "/tmp/reggate-hostile")
PORT = 18443
KEY = "measure-key"
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AFTER = int(os.environ.get("AFTER", "15"))  # seconds sampled after all are closed
DEADLINE = 400  # seconds, the whole run

T0 = time.monotonic()
def now():
    return time.monotonic() - T0

def log(*a):
    print(f"[{now():7.1f}s]", *a, flush=True)

def snils(body):
    s, rest = 0, body
    for w in range(1, 10):
        s += (rest % 10) * w
        rest //= 10
    c = s if s < 100 else 0 if s in (100, 101) else (0 if s % 101 == 100 else s % 101)
    return f"{body * 100 + c:011d}"

def inn(body):
    d = [int(x) for x in f"{body:010d}"]
    c11 = sum(a * w for a, w in zip(d, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    d11 = d + [c11]
    c12 = sum(a * w for a, w in zip(d11, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    return f"{body * 100 + c11 * 10 + c12:012d}"

def pdf(kind):
    """A one-page PDF naming `kind`: the gateway parses what it is sent."""
    content = f"BT /F1 12 Tf 56 780 Td ({kind}) Tj ET\n"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}endstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out

def application():
    doc = lambda k: {"type": k, "media_type": "application/pdf", "size": len(pdf(k)),
                     "sha256": hashlib.sha256(pdf(k)).hexdigest()}
    return {
        "benefit": "childcare_under_1_5",
        "applicant": {"last_name": "Иванова", "first_name": "Мария", "birth_date": "1994-03-12", "gender": "female",
                      "passport": {"series": "4510", "number": "123456", "issue_date": "2014-04-01",
                                   "issuer": "ОВД", "issuer_code": "770-001"},
                      "snils": snils(112233445), "inn": inn(7707083893),
                      "registration_address": {"postal_code": "125009", "region_code": "77", "locality": "Москва", "house": "1"},
                      "phone": "+79161234567", "email": "maria@example.ru"},
        "child": {"last_name": "Иванов", "first_name": "Пётр", "birth_date": "2025-11-20", "gender": "male",
                  "birth_place": "Москва",
                  "birth_certificate": {"series": "IV-МЮ", "number": "654321", "issue_date": "2025-11-25"},
                  "snils": snils(223344556)},
        "documents": [doc("birth_certificate"), doc("passport"), doc("snils")],
    }

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def tls_context():
    ctx = ssl.create_default_context(cafile=f"{ROOT}/certs/internal-ca.pem")
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx

async def request(ctx, method, path, body=b"", headers=""):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT, ssl=ctx, server_hostname="localhost"), 10)
    w.write(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body)
    await w.drain()
    raw = await asyncio.wait_for(r.read(), 20)
    w.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head[9:12]), payload

class Stats:
    def __init__(self):
        self.samples = []        # (t, rss_kb, phase)
        self.phase = "start"
        self.good_ok = 0
        self.good_bad = []
        self.idle_closed = []    # seconds after open
        self.idle_open = 0
        self.stalled = []        # (status, seconds from stall to answer, seconds to close)
        self.stalled_failed = []
        self.half_closed = []

async def sampler(pid, st, stop):
    while not stop.is_set():
        st.samples.append((now(), rss_kb(pid), st.phase))
        await asyncio.sleep(0.5)

async def well_behaved(st, stop):
    """curl, a fresh TLS connection each time, once a second."""
    while not stop.is_set():
        p = await asyncio.create_subprocess_exec(
            "curl", "-sS", "-m", "10", "--cacert", f"{ROOT}/certs/internal-ca.pem",
            "-H", f"Authorization: Bearer {KEY}", "-o", "/dev/null", "-w", "%{http_code}",
            f"https://localhost:{PORT}/v1/applications?limit=1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await p.communicate()
        if out == b"200":
            st.good_ok += 1
        else:
            st.good_bad.append((round(now(), 1), out.decode(), err.decode().strip()[:120]))
        await asyncio.sleep(1)

async def idle_conn(ctx, st, sem):
    async with sem:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT, ssl=ctx, server_hostname="localhost"), 30)
    opened = now()
    st.idle_open += 1
    try:
        await asyncio.wait_for(r.read(), 200)
    except Exception:
        pass
    st.idle_closed.append(now() - opened)
    st.idle_open -= 1
    w.close()

async def half_head(ctx, st, sem):
    async with sem:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT, ssl=ctx, server_hostname="localhost"), 30)
    w.write(b"GET /v1/applications HTTP/1.1\r\nHost: localhost\r\nAuthori")
    await w.drain()
    sent = now()
    try:
        await asyncio.wait_for(r.read(), 200)
    except Exception:
        pass
    st.half_closed.append(now() - sent)
    w.close()

async def stalled_upload(ctx, st, sem, path):
    try:
        async with sem:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT, ssl=ctx, server_hostname="localhost"), 30)
            total = 5 * 1024 * 1024
            w.write(f"PUT {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {KEY}\r\n"
                    f"Content-Length: {total}\r\n\r\n".encode())
            chunk = b"%PDF-" + b"x" * (64 * 1024 - 5)
            sent = 0
            while sent < int(4.9 * 1024 * 1024):
                w.write(chunk)
                sent += len(chunk)
                await w.drain()
        stalled_at = now()
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 200)
        answered = now() - stalled_at
        await asyncio.wait_for(r.read(), 200)
        st.stalled.append((int(head[9:12]), answered, now() - stalled_at))
        w.close()
    except Exception as e:
        st.stalled_failed.append(repr(e)[:120])

def summary(st, label, t_from, t_to):
    xs = [kb for t, kb, _ in st.samples if t_from <= t <= t_to]
    return f"{label}: min {min(xs)/1024:.1f} MB, max {max(xs)/1024:.1f} MB, last {xs[-1]/1024:.1f} MB" if xs else f"{label}: no samples"

async def main():
    os.makedirs(ROOT, exist_ok=True)
    subprocess.run(["rm", "-rf", f"{ROOT}/data"])
    with open(f"{ROOT}/reggate.toml", "w") as f:
        f.write(f'data = "{ROOT}/data"\ncerts = "{ROOT}/certs"\nschemas = "{SRC}/schemas"\nwsdl = "{SRC}/wsdl"\n'
                f'[api]\nlisten = "127.0.0.1:{PORT}"\nkeys = ["{KEY}"]\n')
    gw = subprocess.Popen([BIN, "serve", "--config", f"{ROOT}/reggate.toml"], cwd=ROOT,
                          stdout=open(f"{ROOT}/gateway.log", "w"), stderr=subprocess.STDOUT)
    st = Stats()
    stop = asyncio.Event()
    try:
        for _ in range(300):
            try:
                ctx = tls_context()
                status, _ = await request(ctx, "GET", "/v1/health")
                if status == 200:
                    break
            except Exception:
                await asyncio.sleep(0.2)
        else:
            raise SystemExit("gateway did not come up")
        log("gateway up, pid", gw.pid)
        status, body = await request(ctx, "POST", "/v1/applications", json.dumps(application()).encode(),
                                     "Idempotency-Key: measure-1\r\n")
        assert status == 202, (status, body)
        app_id = json.loads(body)["id"]
        tasks = [asyncio.create_task(sampler(gw.pid, st, stop)), asyncio.create_task(well_behaved(st, stop))]
        await asyncio.sleep(3)
        t_base = now()
        st.phase = "idle+stalled"
        log(f"baseline RSS {rss_kb(gw.pid)/1024:.1f} MB; opening {IDLE} idle TLS connections and {STALLED} stalled uploads")
        sem = asyncio.Semaphore(64)
        idle = [asyncio.create_task(idle_conn(ctx, st, sem)) for _ in range(IDLE)]
        idle += [asyncio.create_task(half_head(ctx, st, sem)) for _ in range(HALF)]
        up_sem = asyncio.Semaphore(STALLED)
        path = f"/v1/applications/{app_id}/documents/passport"
        rounds_t = []
        for rnd in range(ROUNDS):
            t_r = now()
            ups = [asyncio.create_task(stalled_upload(ctx, st, up_sem, path)) for _ in range(STALLED)]
            while not all(u.done() for u in ups):
                await asyncio.sleep(1)
                if now() > DEADLINE:
                    raise SystemExit("deadline")
            rounds_t.append((t_r, now()))
            codes = {}
            for s, *_ in st.stalled[-STALLED:]:
                codes[s] = codes.get(s, 0) + 1
            log(f"round {rnd + 1}: stalled uploads answered {codes}, failed {len(st.stalled_failed)}; "
                f"idle open {st.idle_open}; RSS {rss_kb(gw.pid)/1024:.1f} MB")
        while not all(i.done() for i in idle):
            await asyncio.sleep(1)
            if now() > DEADLINE:
                raise SystemExit("deadline")
        t_gone = now()
        st.phase = "after"
        log(f"all idle connections closed; RSS {rss_kb(gw.pid)/1024:.1f} MB")
        await asyncio.sleep(AFTER)
        stop.set()
        await asyncio.gather(*tasks)
        temps = [n for n in os.listdir(f"{ROOT}/data/documents") if n.startswith(".upload-")] if os.path.isdir(f"{ROOT}/data/documents") else []
        closed = sorted(st.idle_closed)
        answered = sorted(a for _, a, _ in st.stalled)
        print()
        print(summary(st, "baseline (before)", 0, t_base))
        print(summary(st, "during (idle + stalled)", t_base, t_gone))
        print(summary(st, f"after ({AFTER} s after all closed)", now() - 3, now()))
        for i, (a, b) in enumerate(rounds_t):
            print(summary(st, f"  round {i + 1} of stalled uploads", a, b))
        print(f"idle connections: {len(closed)} closed by the server, after {closed[0]:.1f}..{closed[-1]:.1f} s (median {closed[len(closed)//2]:.1f} s)")
        h = sorted(st.half_closed)
        if h:
            print(f"half-sent heads: {len(h)} closed by the server {h[0]:.1f}..{h[-1]:.1f} s after their last byte")
        print(f"stalled uploads: {len(answered)} answered ({sorted(set(s for s, *_ in st.stalled))}) "
              f"{answered[0]:.1f}..{answered[-1]:.1f} s after their last byte; failed: {len(st.stalled_failed)} {st.stalled_failed[:3]}")
        print(f"well-behaved curl: {st.good_ok} ok, {len(st.good_bad)} bad {st.good_bad[:5]}")
        print(f"temporary upload files left: {len(temps)}")
        if os.environ.get("TRIM"):
            # Is what glibc keeps free memory? Ask it to give back what it can (diagnosis only).
            before = rss_kb(gw.pid)
            subprocess.run(["gdb", "-p", str(gw.pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            time.sleep(1)
            print(f"malloc_trim(0) via gdb: RSS {before/1024:.1f} MB -> {rss_kb(gw.pid)/1024:.1f} MB")
        with open(f"{ROOT}/samples.json", "w") as f:
            json.dump(st.samples, f)
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(15)
        except subprocess.TimeoutExpired:
            gw.kill()

asyncio.run(main())
