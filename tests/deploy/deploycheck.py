#!/usr/bin/env python3
"""Static checks of keywatch's packaging, for tests/deploy/check.sh.

    deploycheck.py manifest    DAEMONSET_YAML UNPIN_YAML MAIN_C   -> TAP-like lines
    deploycheck.py args        DAEMONSET_YAML                    -> run's args, one a line
    deploycheck.py configmap   DAEMONSET_YAML KEY                -> a ConfigMap file's text
    deploycheck.py caps        DAEMONSET_YAML|UNIT               -> setpriv bounding set
    deploycheck.py execstart   UNIT                              -> run's args, one a line
    deploycheck.py context     DOCKERIGNORE ROOT DEST            -> copy the build context
    deploycheck.py unit        UNIT KEYWATCH_YAML MAIN_C         -> TAP-like lines
    deploycheck.py dockerfile  DOCKERFILE DOCKERIGNORE ROOT [SONAME=PKG...]
    deploycheck.py man         MAN_PAGE MAIN_C SCAN_C STATUS_C OUTPUT_C
    deploycheck.py hosts       FILE...                           -> no URL, no registry host

Each check prints "ok - ..." or "not ok - ..." (with "#" detail lines); check.sh counts them.
Only python3 and python3-yaml (Debian packages) are needed.
"""
import fnmatch
import os
import re
import shlex
import sys

import yaml

PIN_DIR = "/sys/fs/bpf/keywatch"


def ok(name):
    print(f"ok - {name}")


def not_ok(name, *detail):
    print(f"not ok - {name}")
    for d in detail:
        for line in str(d).splitlines():
            print(f"#   {line}")


def check(cond, name, *detail):
    if cond:
        ok(name)
    else:
        not_ok(name, *detail)
    return bool(cond)


def long_options(c_file):
    """The long options of every getopt_long table in a C file."""
    text = open(c_file).read()
    return set(re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', text))


def run_options(main_c):
    """The long options of `keywatch run` (the table inside cmd_run)."""
    text = open(main_c).read()
    body = text[text.index("static int cmd_run("):]
    body = body[: body.index("{ NULL, 0, NULL, 0 }")]
    return set(re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', body))


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def image_has_host(image):
    """True when an image reference names a registry host (docker's rule: the first path
    component has a '.' or a ':' or is 'localhost')."""
    name = image.split("@")[0]
    if "/" not in name:
        return False
    first = name.split("/")[0]
    return "." in first or ":" in first or first == "localhost"


def args_settings(args, run_opts):
    """--opt value pairs of a `keywatch run` command line → {opt: value}; flags → True."""
    out, i, bad = {}, 0, []
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            bad.append(a)
            i += 1
            continue
        name = a[2:].split("=", 1)[0]
        if name not in run_opts:
            bad.append(a)
        if "=" in a:
            out[name] = a.split("=", 1)[1]
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--") and name not in (
            "log-expected",
            "keep-privileges",
            "unpin",
        ):
            out[name] = args[i + 1]
            i += 2
        else:
            out[name] = True
            i += 1
    return out, bad


def config_matches(cfg, settings, defaults):
    """A keywatch.yaml (keys = run's long options) says the same as a command line."""
    diffs = []
    for k in sorted(set(cfg) | set(settings)):
        want = cfg.get(k, defaults.get(k))
        have = settings.get(k, defaults.get(k))
        if str(want) != str(have):
            diffs.append(f"{k}: config {want!r}, command line {have!r}")
    return diffs


# ---- Kubernetes --------------------------------------------------------------------------------


def daemonset(path):
    docs = load_docs(path)
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    return docs, (ds[0] if ds else None)


def container(ds):
    return ds["spec"]["template"]["spec"]["containers"][0]


def cmd_manifest(ds_path, unpin_path, main_c):
    run_opts = run_options(main_c)
    docs, ds = daemonset(ds_path)
    kinds = [d.get("kind") for d in docs]
    if not check(
        sorted(kinds) == sorted(["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"]),
        "manifest: Namespace, ServiceAccount, ConfigMap and DaemonSet",
        f"kinds: {kinds}",
    ):
        return
    ns = next(d for d in docs if d["kind"] == "Namespace")["metadata"]["name"]
    check(
        all(d["metadata"].get("namespace") == ns for d in docs if d["kind"] != "Namespace"),
        f"manifest: every object is in namespace {ns}",
    )
    nsdoc = next(d for d in docs if d["kind"] == "Namespace")
    check(
        nsdoc["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
        == "privileged",
        "manifest: the namespace admits the pod (Pod Security 'privileged')",
    )
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")
    pod = ds["spec"]["template"]["spec"]
    c = container(ds)
    check(
        sa.get("automountServiceAccountToken") is False
        and pod.get("automountServiceAccountToken") is False
        and pod.get("serviceAccountName") == sa["metadata"]["name"],
        "manifest: own ServiceAccount, no API token mounted",
    )
    sel = ds["spec"]["selector"]["matchLabels"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    check(
        all(labels.get(k) == v for k, v in sel.items()),
        "manifest: the selector matches the pod template",
    )
    tol = pod.get("tolerations", [])
    check(
        any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t for t in tol),
        "manifest: tolerates every taint (control-plane included)",
        f"tolerations: {tol}",
    )
    check(pod.get("hostPID") is True, "manifest: hostPID")
    check(
        pod.get("priorityClassName") == "system-node-critical",
        "manifest: priorityClassName system-node-critical",
    )
    check(
        not image_has_host(c["image"]) and all(
            not image_has_host(x["image"]) for x in pod.get("initContainers", [])
        ),
        "manifest: image names no registry host",
        c["image"],
    )

    # The command line: the image's ENTRYPOINT is `keywatch run`.
    settings, bad = args_settings(c.get("args", []), run_opts)
    check(not bad and "command" not in c, "manifest: args are `keywatch run` options", bad)
    check(settings.get("root") == "/host", "manifest: --root /host", settings)
    check(settings.get("output", "-") == "-", "manifest: events on stdout (--output -)", settings)
    check(settings.get("pin-dir") == PIN_DIR, f"manifest: --pin-dir {PIN_DIR}", settings)
    check(
        settings.get("policy") == "/etc/keywatch/policy.yaml",
        "manifest: --policy /etc/keywatch/policy.yaml",
        settings,
    )
    check(str(settings.get("user", "0")) not in ("0", "root"),
          "manifest: --user: not uid 0 once attached", settings)

    # Privileges.
    sc = c.get("securityContext", {})
    caps = sc.get("capabilities", {})
    want_caps = {"BPF", "PERFMON", "DAC_READ_SEARCH", "SYS_PTRACE", "SETPCAP", "SETUID",
                 "SETGID", "SYS_RESOURCE"}
    check(caps.get("drop") == ["ALL"], "manifest: capabilities: drop ALL first", caps)
    check(
        set(caps.get("add", [])) == want_caps,
        "manifest: capabilities added: " + " ".join(sorted(want_caps)),
        caps.get("add"),
    )
    check("SYS_ADMIN" not in caps.get("add", []), "manifest: no CAP_SYS_ADMIN")
    check(sc.get("privileged") is False, "manifest: privileged: false")
    check(sc.get("allowPrivilegeEscalation") is False, "manifest: allowPrivilegeEscalation: false")
    check(sc.get("readOnlyRootFilesystem") is True, "manifest: readOnlyRootFilesystem")
    check(sc.get("runAsUser") == 0, "manifest: runAsUser 0 (see the comment)")
    check(
        sc.get("seccompProfile", {}).get("type") in ("Unconfined", "Localhost"),
        "manifest: seccomp Unconfined or Localhost (RuntimeDefault blocks bpf() without "
        "CAP_SYS_ADMIN)",
        sc.get("seccompProfile"),
    )
    check(
        sc.get("appArmorProfile", {}).get("type") in ("Unconfined", "Localhost"),
        "manifest: AppArmor profile allows pinning under /sys/fs/bpf",
        sc.get("appArmorProfile"),
    )

    # Volumes.
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    missing = [m["name"] for m in c.get("volumeMounts", []) if m["name"] not in vols]
    unused = [n for n in vols if n not in {m["name"] for m in c.get("volumeMounts", [])}]
    check(not missing and not unused, "manifest: every volume mounted, every mount a volume",
          f"missing: {missing}", f"unused: {unused}")

    def host(mount_path):
        m = mounts.get(mount_path)
        if not m:
            return None, None
        return m, vols.get(m["name"], {}).get("hostPath", {}).get("path")

    m, hp = host("/host")
    check(
        m is not None and hp == "/" and m.get("readOnly") is True
        and m.get("recursiveReadOnly") in ("IfPossible", "Enabled"),
        "manifest: the host's / read-only (recursively) at /host",
        m,
    )
    m, hp = host("/sys/kernel/btf")
    check(m is not None and hp == "/sys/kernel/btf" and m.get("readOnly") is True,
          "manifest: /sys/kernel/btf from the host, read-only", m)
    m, hp = host("/sys/kernel/tracing")
    if m is None:
        m, hp = host("/sys/kernel/debug")
    check(m is not None and hp in ("/sys/kernel/tracing", "/sys/kernel/debug"),
          "manifest: the host's tracefs (/sys/kernel/tracing)", m)
    m, hp = host("/sys/fs/bpf")
    check(
        m is not None and hp == "/sys/fs/bpf" and not m.get("readOnly")
        and m.get("mountPropagation", "None") in ("HostToContainer", "None"),
        "manifest: /sys/fs/bpf from the host, writable, not Bidirectional",
        m,
    )
    check(PIN_DIR.startswith("/sys/fs/bpf/"), "manifest: the pin dir is on the bpffs mount")
    m, hp = host("/var/lib/keywatch")
    check(m is not None and hp == "/var/lib/keywatch" and not m.get("readOnly"),
          "manifest: /var/lib/keywatch state directory from the host, writable", m)
    m = mounts.get("/etc/keywatch")
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    check(
        m is not None and m.get("readOnly") is True
        and vols.get(m["name"], {}).get("configMap", {}).get("name") == cm["metadata"]["name"],
        "manifest: the ConfigMap read-only at /etc/keywatch",
        m,
    )
    mode = vols.get(m["name"], {}).get("configMap", {}).get("defaultMode", 0o644) if m else 0
    check(not mode & 0o022, "manifest: ConfigMap files not group/other-writable "
          "(the agent refuses such a policy)", oct(mode))

    # Resources (the figures behind them are in the manifest's comment).
    res = c.get("resources", {})
    want = {"requests": {"cpu": "50m", "memory": "32Mi"},
            "limits": {"cpu": "500m", "memory": "128Mi"}}
    check(res == want, "manifest: requests 50m/32Mi, limits 500m/128Mi", res)

    # Probes: `keywatch status` on the pin dir the agent uses.
    want_probe = ["/usr/bin/keywatch", "status", "--pin-dir", settings.get("pin-dir")]
    for probe in ("livenessProbe", "startupProbe"):
        cmd = c.get(probe, {}).get("exec", {}).get("command")
        check(cmd == want_probe, f"manifest: {probe} runs `keywatch status` on the pin dir", cmd)

    # The ConfigMap: both files, the config in step with the args.
    data = cm.get("data", {})
    check(set(data) == {"keywatch.yaml", "policy.yaml"},
          "manifest: ConfigMap holds keywatch.yaml and policy.yaml", sorted(data))
    try:
        cfg = yaml.safe_load(data.get("keywatch.yaml", "")) or {}
        pol = yaml.safe_load(data.get("policy.yaml", "")) or {}
    except yaml.YAMLError as e:
        not_ok("manifest: ConfigMap files are YAML", e)
        return
    unknown = [k for k in cfg if k not in run_opts]
    check(not unknown, "manifest: keywatch.yaml keys are `keywatch run` options", unknown)
    diffs = config_matches(cfg, settings, {"root": "/", "output": "-", "heartbeat": 60})
    check(not diffs, "manifest: keywatch.yaml says what the args say", *diffs)
    check(isinstance(pol, dict) and pol.get("apiVersion") == "keywatch.io/v1",
          "manifest: policy.yaml is a keywatch.io/v1 policy", pol)

    # The unpin DaemonSet.
    udocs = load_docs(unpin_path)
    uds = next((d for d in udocs if d.get("kind") == "DaemonSet"), None)
    if not check(uds is not None, "unpin: a DaemonSet"):
        return
    upod = uds["spec"]["template"]["spec"]
    init = (upod.get("initContainers") or [{}])[0]
    check(
        init.get("command") == ["/usr/bin/keywatch", "run", "--unpin", "--pin-dir",
                                settings.get("pin-dir")],
        "unpin: runs `keywatch run --unpin` on the agent's pin dir",
        init.get("command"),
    )
    icaps = init.get("securityContext", {}).get("capabilities", {})
    check(icaps.get("drop") == ["ALL"] and not icaps.get("add"),
          "unpin: no capabilities", icaps)
    check(
        any(t.get("operator") == "Exists" and "key" not in t for t in upod.get("tolerations", [])),
        "unpin: runs on every node",
    )
    uvols = {v["name"]: v for v in upod.get("volumes", [])}
    check(
        any(m["mountPath"] == "/sys/fs/bpf"
            and uvols.get(m["name"], {}).get("hostPath", {}).get("path") == "/sys/fs/bpf"
            and not m.get("readOnly") for m in init.get("volumeMounts", [])),
        "unpin: the host's /sys/fs/bpf, writable",
    )
    images = [x["image"] for x in upod.get("initContainers", []) + upod.get("containers", [])]
    check(all(i == c["image"] for i in images) and not any(image_has_host(i) for i in images),
          "unpin: same image as the agent, no registry host", images)


def cmd_args(ds_path):
    _, ds = daemonset(ds_path)
    for a in container(ds).get("args", []):
        print(a)


def cmd_configmap(ds_path, key):
    docs, _ = daemonset(ds_path)
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    sys.stdout.write(cm["data"][key])


def unit_directives(path):
    """[(section, key, value)] of a systemd unit (no continuation lines in ours)."""
    out, section = [], None
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


def cmd_execstart(unit):
    """ExecStart's arguments after `keywatch run`, one a line."""
    for s, k, v in unit_directives(unit):
        if s == "Service" and k == "ExecStart":
            for a in shlex.split(v)[2:]:
                print(a)


def cmd_context(dockerignore, root, dest):
    """Copy what the .dockerignore lets into the build context to dest (to build from it)."""
    import shutil

    patterns = [ln.strip() for ln in open(dockerignore) if ln.strip()
                and not ln.lstrip().startswith("#")]
    n = 0
    for dp, dns, fs in os.walk(root):
        dns[:] = [d for d in dns if d not in (".git", ".output")]
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), root)
            if not ignored(rel, patterns):
                os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
                shutil.copy2(os.path.join(root, rel), os.path.join(dest, rel), follow_symlinks=False)
                n += 1
    print(n)


def cmd_caps(path):
    """The capability set, as setpriv's --bounding-set argument."""
    if path.endswith(".service"):
        caps = []
        for _, k, v in unit_directives(path):
            if k == "CapabilityBoundingSet":
                caps += v.split()
        caps = [c[4:] for c in caps]
    else:
        _, ds = daemonset(path)
        caps = container(ds)["securityContext"]["capabilities"].get("add", [])
    print("-all" + "".join(",+" + c.lower() for c in caps))


# ---- systemd ---------------------------------------------------------------------------------


def cmd_unit(unit, keywatch_yaml, main_c):
    run_opts = run_options(main_c)
    d = unit_directives(unit)
    svc = {}
    for s, k, v in d:
        if s == "Service":
            svc.setdefault(k, []).append(v)

    def one(k):
        return (svc.get(k) or [None])[-1]

    exe = shlex.split(one("ExecStart") or "")
    check(exe[:2] == ["/usr/bin/keywatch", "run"], "unit: ExecStart is /usr/bin/keywatch run", exe)
    settings, bad = args_settings(exe[2:], run_opts)
    check(not bad, "unit: ExecStart's arguments are `keywatch run` options", bad)
    check(settings.get("pin-dir") == PIN_DIR, f"unit: --pin-dir {PIN_DIR}", settings)
    check(settings.get("policy") == "/etc/keywatch/policy.yaml",
          "unit: --policy /etc/keywatch/policy.yaml", settings)
    check(settings.get("output") == "/var/log/keywatch/events.json",
          "unit: --output /var/log/keywatch/events.json", settings)
    check(settings.get("user") == "keywatch", "unit: --user keywatch once attached", settings)
    check(one("Type") == "simple", "unit: Type=simple (the agent does not sd_notify)")
    check(one("Restart") == "on-failure", "unit: Restart=on-failure")
    check("2" in (one("RestartPreventExitStatus") or "").split(),
          "unit: no restart loop on a configuration error (exit 2)")
    check(one("NoNewPrivileges") == "yes", "unit: NoNewPrivileges=yes")
    check(one("ProtectSystem") == "strict", "unit: ProtectSystem=strict")
    check(one("LimitMEMLOCK") == "infinity", "unit: LimitMEMLOCK=infinity")
    caps = set(" ".join(svc.get("CapabilityBoundingSet", [])).split())
    want = {"CAP_BPF", "CAP_PERFMON", "CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE", "CAP_SETPCAP",
            "CAP_SETUID", "CAP_SETGID"}
    check(caps == want, "unit: CapabilityBoundingSet=" + " ".join(sorted(want)), sorted(caps))
    check(not one("User") or one("User") == "root" or one("AmbientCapabilities"),
          "unit: a non-root User= comes with AmbientCapabilities=")
    rw = " ".join(svc.get("ReadWritePaths", [])).split()
    check(settings.get("pin-dir") in rw, "unit: the pin dir is writable (ReadWritePaths)", rw)
    pre = " ".join(svc.get("ExecStartPre", []))
    check(settings.get("pin-dir") in pre and pre.startswith("+"),
          "unit: the pin dir exists before the sandbox is set up (ExecStartPre=+mkdir)", pre)
    check(one("LogsDirectory") == "keywatch"
          and settings.get("output", "").startswith("/var/log/keywatch/"),
          "unit: the output file is in LogsDirectory=keywatch")
    check(one("StateDirectory") == "keywatch", "unit: StateDirectory=keywatch (/var/lib/keywatch)")
    reload = svc.get("ExecReload", [])
    check(any("-n" in shlex.split(r) for r in reload) and any("HUP" in r for r in reload),
          "unit: reload checks the configuration, then sends SIGHUP", reload)
    try:
        cfg = yaml.safe_load(open(keywatch_yaml)) or {}
    except yaml.YAMLError as e:
        not_ok("unit: deploy/etc/keywatch.yaml is YAML", e)
        return
    unknown = [k for k in cfg if k not in run_opts]
    check(not unknown, "config: keywatch.yaml keys are `keywatch run` options", unknown)
    diffs = config_matches(cfg, settings, {"root": "/", "output": "-", "heartbeat": 60})
    check(not diffs, "config: deploy/etc/keywatch.yaml says what the unit's ExecStart says",
          *diffs)


# ---- Docker ----------------------------------------------------------------------------------


def dockerfile_instructions(path):
    """[(INSTRUCTION, text)] with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        ins, _, rest = cur.strip().partition(" ")
        out.append((ins.upper(), rest.strip()))
        cur = ""
    return out


def ignored(path, patterns):
    """Docker's .dockerignore rule, enough for our file: last matching pattern wins."""
    verdict = False
    for p in patterns:
        neg = p.startswith("!")
        pat = p[1:] if neg else p
        pat = pat.rstrip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[: i + 1]), pat) for i in range(len(parts)))
        if hit:
            verdict = not neg
    return verdict


def cmd_dockerfile(dockerfile, dockerignore, root, *sonames):
    ins = dockerfile_instructions(dockerfile)
    froms = [(i, t) for i, (k, t) in enumerate(ins) if k == "FROM"]
    check(len(froms) >= 2, "docker: multi-stage (a build stage and a runtime stage)",
          [t for _, t in froms])
    if len(froms) < 2:
        return
    images = [t.split()[0] for _, t in froms]
    check(images[0] == "debian:bookworm" and re.search(r"\bAS\s+build\b", froms[0][1], re.I),
          "docker: build stage FROM debian:bookworm AS build", froms[0][1])
    check(images[-1] == "debian:bookworm-slim" and len(froms[-1][1].split()) == 1,
          "docker: runtime stage FROM debian:bookworm-slim", froms[-1][1])
    check(all(i.startswith("debian:") and not image_has_host(i) for i in images),
          "docker: base images are Debian's, named without a registry host", images)
    stages = []
    for n, (start, _) in enumerate(froms):
        end = froms[n + 1][0] if n + 1 < len(froms) else len(ins)
        stages.append(ins[start + 1:end])
    build, runtime = stages[0], stages[-1]
    b_runs = " ".join(t for k, t in build if k == "RUN")
    check(re.search(r"\bmake\b", b_runs) and "apt-get install" in b_runs,
          "docker: the build stage installs its deps with apt and runs make")
    r_runs = " ".join(t for k, t in runtime if k == "RUN")
    m = re.search(r"apt-get install ([^&;]*)", r_runs)
    pkgs = [w for w in (m.group(1).split() if m else []) if not w.startswith("-")]
    want = ["libbpf1", "libelf1", "zlib1g", "libssl3", "libyaml-0-2"]
    check(sorted(pkgs) == sorted(want), "docker: the runtime stage installs only "
          + " ".join(want), pkgs)
    dev = [p for p in pkgs if p.endswith("-dev") or p in ("gcc", "clang", "make", "bpftool")]
    check(not dev and "make" not in r_runs.split(), "docker: no toolchain in the runtime stage",
          dev)
    copies = [t for k, t in runtime if k == "COPY"]
    check(any(c.startswith("--from=build ") and c.split()[-1] == "/usr/bin/keywatch"
              for c in copies), "docker: the runtime stage copies the binary from the build "
          "stage to /usr/bin/keywatch", copies)
    ep = [t for k, t in runtime if k == "ENTRYPOINT"]
    check(ep and ep[-1].replace(" ", "") == '["/usr/bin/keywatch","run"]',
          'docker: ENTRYPOINT ["/usr/bin/keywatch","run"]', ep)
    users = [t for k, t in runtime if k == "USER"]
    check(users and re.fullmatch(r"\d+(:\d+)?", users[-1]), "docker: USER is numeric", users)
    labels = " ".join(t for k, t in runtime if k == "LABEL")
    check("org.opencontainers.image.title" in labels and "org.opencontainers.image.version"
          in labels, "docker: OCI labels (title, version)")
    # Every COPY source of every stage exists and is in the build context.
    patterns = [ln.strip() for ln in open(dockerignore) if ln.strip()
                and not ln.lstrip().startswith("#")]
    problems = []
    for k, t in ins:
        if k != "COPY" or t.startswith("--from="):
            continue
        for src in t.split()[:-1]:
            if src.startswith("--"):
                continue
            p = os.path.join(root, src)
            if not os.path.exists(p):
                problems.append(f"{src}: not in the source tree")
            elif os.path.isdir(p):
                kept = [os.path.relpath(os.path.join(dp, f), root)
                        for dp, _, fs in os.walk(p) for f in fs]
                if not any(not ignored(x, patterns) for x in kept):
                    problems.append(f"{src}: excluded by {os.path.basename(dockerignore)}")
            elif ignored(os.path.relpath(p, root), patterns):
                problems.append(f"{src}: excluded by {os.path.basename(dockerignore)}")
    check(not problems, "docker: every COPY source is in the build context", *problems)
    # The libraries the built binary needs (SONAME=PKG from readelf + dpkg -S on this Debian 12).
    need = {}
    for s in sonames:
        so, _, pkg = s.partition("=")
        need[so] = pkg.split(":")[0]
    if need:
        base = {"libc6"}  # in every Debian image
        missing = sorted(f"{so} ({p})" for so, p in need.items() if p not in pkgs and p not in base)
        check(not missing, "docker: the runtime stage provides every library the binary links ("
              + ", ".join(sorted(need)) + ")", *missing)


# ---- man page --------------------------------------------------------------------------------


def cmd_man(man, main_c, scan_c, status_c, output_c):
    text = open(man).read()
    plain = text.replace("\\-", "-").replace("\\&", "")
    sections = re.findall(r'^\.SH\s+"?([^"\n]+)"?', text, re.M)
    want = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EVENTS", "FILES", "EXIT STATUS",
            "SECURITY", "EXAMPLES", "SEE ALSO"]
    missing = [s for s in want if s not in sections]
    check(not missing, "man: sections " + ", ".join(want), f"missing: {missing}")
    cmds = set(re.findall(r'!strcmp\(argv\[1\], "([a-z]+)"\)', open(main_c).read()))
    synopsis = plain[plain.index(".SH SYNOPSIS"):plain.index(".SH DESCRIPTION")]
    missing = sorted(c for c in cmds if not re.search(rf"keywatch {c}\b", synopsis))
    check(cmds and not missing, "man: SYNOPSIS names every command (" + ", ".join(sorted(cmds))
          + ")", f"missing: {missing}")
    opts = long_options(main_c) | long_options(scan_c) | long_options(status_c)
    missing = sorted(o for o in opts if f"--{o}" not in plain)
    check(not missing, f"man: every long option is documented ({len(opts)})",
          f"missing: {missing}")
    # Short options of run's getopt string.
    short = re.search(r'getopt_long\(argc, argv, "([a-zA-Z]+)"', open(main_c).read())
    missing = [f"-{c}" for c in (short.group(1) if short else "")
               if not re.search(rf"\\-{c}(?![A-Za-z0-9-])", text)]
    check(not missing, "man: every short option of run is documented", missing)
    out = open(output_c).read()
    actions = set(re.findall(r'"(?:state|alert|event)",\s*"([a-z-]+)"', out))
    actions |= set(re.findall(r'"(key-open(?:-attempt)?)"', out))
    events = plain[plain.index(".SH EVENTS"):]
    missing = sorted(a for a in actions if a not in events)
    check(actions and not missing, f"man: EVENTS lists every event.action ({len(actions)})",
          f"missing: {missing}")


# ---- no registry host, no URL ------------------------------------------------------------------


def cmd_hosts(*files):
    bad = []
    for f in files:
        for n, line in enumerate(open(f, errors="replace"), 1):
            if re.search(r"[a-zA-Z][a-zA-Z0-9+.-]*://", line):
                bad.append(f"{f}:{n}: a URL: {line.strip()}")
            m = re.search(r"^\s*(?:-\s*)?image:\s*['\"]?([^'\"\s#]+)", line)
            if m and image_has_host(m.group(1)):
                bad.append(f"{f}:{n}: an image with a registry host: {m.group(1)}")
            m = re.match(r"\s*FROM\s+(?:--\S+\s+)*(\S+)", line, re.I)
            if m and image_has_host(m.group(1)):
                bad.append(f"{f}:{n}: a base image with a registry host: {m.group(1)}")
    check(not bad, f"packaging names no registry host and no URL ({len(files)} files)", *bad)


def main(argv):
    cmds = {
        "manifest": cmd_manifest,
        "args": cmd_args,
        "configmap": cmd_configmap,
        "caps": cmd_caps,
        "execstart": cmd_execstart,
        "context": cmd_context,
        "unit": cmd_unit,
        "dockerfile": cmd_dockerfile,
        "man": cmd_man,
        "hosts": cmd_hosts,
    }
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmds[argv[1]](*argv[2:])
    except Exception as e:  # a parse error is a failed check, not a crash of the suite
        not_ok(f"{argv[1]}: {type(e).__name__}", e)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
