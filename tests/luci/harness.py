#!/usr/bin/env python3
"""A small stand-in for uhttpd + rpcd, for the luci-app-vwrp browser test.

It serves, on 127.0.0.1 only:
  /cgi-bin/luci/<menu path>   after a login, a LuCI-like page for a menu.d
                              entry, which loads the view the entry names;
                              without one, a login form (luci_username,
                              luci_password, as LuCI's sysauth page posts)
  /cgi-bin/luci/admin/logout  ends the session
  /luci-static/resources/...  the app's htdocs, as the router installs them,
                              then standin/resources (luci-mod-status' view)
  /luci-static/standin/...    the stand-in LuCI runtime (standin/luci.js)
  POST /ubus[/...]            ubus JSON-RPC 2.0 as uhttpd-mod-ubus answers it

Logins, as rpcd's /etc/config/rpcd `config login` sections grant them: root
(read '*', write '*') and viewer (read '*' only: every ACL group's read part).
A session holds what its login was granted, the way rpcd's session.c sets
it up: for each ACL group (acl.d files of the app and of standin/acl.d) whose
name matches a read pattern, the group's "read" grants; for a write pattern,
its "write" grants; and "access-group" GROUP read/write, from which the page's
nodespec is worked out as luci-base's dispatcher does (check_acl_depends:
no read nor write of a required group: not satisfied; no write: read-only).

ubus calls are checked like rpcd and uhttpd-mod-ubus check them (scope
"ubus", object, method; unknown session: -32002 Access denied) and answered:
  - object "vwrp" is the REAL exec plugin: `PLUGIN list` once at start (its
    methods; no object if it fails), then `PLUGIN call METHOD` per call with
    the arguments plus "ubus_rpc_session" as JSON on stdin; one JSON object
    on stdout is [0, obj], nothing is [5] (no data), anything else [2];
    a plugin still running after 30 s is killed: [7];
  - object "uci" over a UCI file in --uci-dir: get/add/set/delete are staged
    (as in rpcd's session delta), apply/commit write the file; rpcd's uci
    plugin also checks scope "uci" (config, read|write);
  - object "session", method "access": whether the session holds a grant;
  - object "file", method "list": luci-mod-status' Overview lists its
    includes this way (scope "file", path, "list");
  - object "luci-rpc", method "getNetworkDevices": the network devices of
    --netns (`ip -j link`), as luci-base's rpcd plugin reports the router's.

Usage: harness.py --app DIR --plugin PATH --uci-dir DIR [--netns NS] [--address 127.x.y.z] [--env K=V ...]
Prints "PORT <n>" on stdout once it listens.
"""

import argparse
import fnmatch
import http.cookies
import urllib.parse
import glob
import html
import json
import os
import secrets
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXEC_TIMEOUT = 30  # /etc/config/rpcd: option timeout 30
UBUS_OK, UBUS_INVALID_ARGUMENT, UBUS_METHOD_NOT_FOUND, UBUS_NO_DATA, UBUS_TIMEOUT = 0, 2, 3, 5, 7


# ---- UCI files -----------------------------------------------------------

def uci_parse(text):
    """config/option/list lines as libuci reads them (quotes, comments)."""
    sections = []
    for raw in text.splitlines():
        lex = shlex.shlex(raw, posix=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        words = list(lex)
        if not words:
            continue
        kw = words[0]
        if kw in ("config", "c"):
            name = words[2] if len(words) > 2 else None
            sections.append({".type": words[1], ".name": name, ".anonymous": name is None, "options": {}})
        elif kw in ("option", "o") and sections and len(words) > 2:
            sections[-1]["options"][words[1]] = words[2]
        elif kw in ("list", "l") and sections and len(words) > 2:
            cur = sections[-1]["options"].get(words[1])
            sections[-1]["options"][words[1]] = (cur if isinstance(cur, list) else []) + [words[2]]
    n = 0
    for s in sections:
        if s[".name"] is None:
            s[".name"] = "cfg%02x%04x" % (n % 256, secrets.randbits(16))
        n += 1
    return sections


def uci_quote(v):
    return "'" + v.replace("'", "'\\''") + "'"


def uci_export(package, sections):
    out = ["package %s" % package, ""]
    for s in sections:
        head = "config %s" % s[".type"]
        if not s[".anonymous"]:
            head += " " + uci_quote(s[".name"])
        out.append(head)
        for k, v in s["options"].items():
            for item in (v if isinstance(v, list) else [v]):
                out.append("\t%s %s %s" % ("list" if isinstance(v, list) else "option", k, uci_quote(item)))
        out.append("")
    return "\n".join(out)


class Uci:
    """rpcd's uci object over one directory of UCI files."""

    def __init__(self, directory):
        self.dir = directory
        self.staged = {}

    def _conf(self, config):
        if config not in self.staged:
            path = os.path.join(self.dir, config)
            if not os.path.isfile(path):
                return None
            with open(path) as f:
                self.staged[config] = uci_parse(f.read())
        return self.staged[config]

    def _section(self, conf, name):
        return next((s for s in conf if s[".name"] == name), None)

    def call(self, method, args):
        config = args.get("config")
        if method in ("apply", "commit", "confirm"):
            for name, conf in self.staged.items():
                if method != "confirm" and (config is None or config == name):
                    with open(os.path.join(self.dir, name), "w") as f:
                        f.write(uci_export(name, conf))
            return [UBUS_OK]
        if method == "changes":
            return [UBUS_OK, {"changes": {}}]
        conf = self._conf(config) if isinstance(config, str) else None
        if conf is None:
            return [4]  # UBUS_STATUS_NOT_FOUND
        if method == "get":
            values = {}
            for i, s in enumerate(conf):
                v = {".anonymous": s[".anonymous"], ".type": s[".type"], ".name": s[".name"], ".index": i}
                v.update(s["options"])
                values[s[".name"]] = v
            return [UBUS_OK, {"values": values}]
        if method == "add":
            name = args.get("name")
            if name is not None and self._section(conf, name):
                return [UBUS_INVALID_ARGUMENT]
            anonymous = name is None
            if anonymous:
                name = "cfg%02x%04x" % (len(conf) % 256, secrets.randbits(16))
            s = {".type": args.get("type"), ".name": name, ".anonymous": anonymous, "options": {}}
            conf.append(s)
            self._set(s, args.get("values") or {})
            return [UBUS_OK, {"section": name}]
        s = self._section(conf, args.get("section"))
        if s is None:
            return [4]
        if method == "set":
            self._set(s, args.get("values") or {})
            return [UBUS_OK]
        if method == "delete":
            opts = args.get("options") or ([args["option"]] if args.get("option") else None)
            if opts is None:
                conf.remove(s)
            else:
                for o in opts:
                    s["options"].pop(o, None)
            return [UBUS_OK]
        if method == "order":
            return [UBUS_OK]
        return [UBUS_METHOD_NOT_FOUND]

    @staticmethod
    def _set(s, values):
        for k, v in values.items():
            if isinstance(v, list):
                s["options"][k] = [str(x) for x in v]
            elif v == "" or v is None:
                s["options"].pop(k, None)
            else:
                s["options"][k] = str(v)


# ---- ACLs and sessions (rpcd session.c) ----------------------------------

# The stand-in /etc/config/rpcd: login -> (password, read, write) patterns.
LOGINS = {
    "root": ("", ["*"], ["*"]),
    "viewer": ("viewer", ["*"], []),
}


class Acl:
    """The ACL groups of the acl.d files."""

    def __init__(self, files):
        self.groups = {}
        for path in files:
            with open(path) as f:
                self.groups.update(json.load(f))

    def session(self, read_patterns, write_patterns):
        """The grants of a login: (scope, object, function) triples, and
        access-group GROUP -> {"read", "write"}."""
        grants, groups = [], {}
        for name, group in self.groups.items():
            for kind, patterns in (("read", read_patterns), ("write", write_patterns)):
                if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                    continue
                groups.setdefault(name, set()).add(kind)
                perms = group.get(kind, {})
                for obj, methods in perms.get("ubus", {}).items():
                    grants.extend(("ubus", obj, m) for m in methods)
                grants.extend(("uci", conf, kind) for conf in perms.get("uci", []))
                for path, ops in perms.get("file", {}).items():
                    grants.extend(("file", path, op) for op in ops)
        return Session(grants, groups)


class Session:
    def __init__(self, grants, groups):
        self.grants, self.groups = grants, groups

    def access(self, scope, obj, function):
        return any(s == scope and fnmatch.fnmatchcase(obj, o) and fnmatch.fnmatchcase(function, f)
                   for s, o, f in self.grants)

    def nodespec(self, required):
        """luci-base dispatcher.uc check_acl_depends() for a menu entry."""
        writable = True
        if required:
            writable = False
            for g in required:
                kinds = self.groups.get(g, set())
                if not kinds:
                    return None
                writable = writable or "write" in kinds
        return {"satisfied": True, "readonly": not writable}


def uci_allowed(session, method, config):
    """rpcd's uci plugin: reading needs uci CONFIG read, changing it write."""
    if method in ("get", "state", "changes"):
        return session.access("uci", config, "read")
    if method in ("apply", "confirm", "rollback"):
        return True
    return session.access("uci", config, "write")


# ---- the exec plugin ------------------------------------------------------

class Plugin:
    def __init__(self, path, env):
        self.path, self.env = path, env
        self.methods = None
        try:
            out = subprocess.run([path, "list"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env, timeout=EXEC_TIMEOUT, check=False).stdout
            listed = json.loads(out)
            if isinstance(listed, dict):
                self.methods = listed
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            print("plugin list failed: %s" % e, file=sys.stderr)

    def call(self, method, args):
        if method not in self.methods:
            return [UBUS_METHOD_NOT_FOUND]
        try:
            p = subprocess.run([self.path, "call", method], input=json.dumps(args).encode(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                               timeout=EXEC_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return [UBUS_TIMEOUT]
        out = p.stdout.decode(errors="replace").strip()
        if not out:
            return [UBUS_NO_DATA]
        try:
            reply = json.loads(out)
        except ValueError:
            return [UBUS_INVALID_ARGUMENT]
        return [UBUS_OK, reply] if isinstance(reply, dict) else [UBUS_INVALID_ARGUMENT]


# ---- luci-rpc and file stand-ins ---------------------------------------------

def network_devices(netns):
    """getNetworkDevices: name -> {name, up, mac, type, flags} (a subset)."""
    argv = (["ip", "-n", netns] if netns else ["ip"]) + ["-j", "link", "show"]
    try:
        links = json.loads(subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          timeout=5, check=True).stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return {}
    return {l["ifname"]: {"name": l["ifname"], "up": "UP" in l.get("flags", []),
                          "mac": l.get("address"), "type": 772 if l.get("link_type") == "loopback" else 1,
                          "flags": {"up": "UP" in l.get("flags", [])}}
            for l in links if "ifname" in l}


def file_list(roots, path):
    """rpcd file.list of a /www/luci-static/resources/... directory."""
    prefix = "/www/luci-static/resources/"
    if not path.startswith(prefix):
        return None
    entries, found = {}, False
    for root in roots:
        d = os.path.realpath(os.path.join(root, path[len(prefix):]))
        if d.startswith(os.path.realpath(root)) and os.path.isdir(d):
            found = True
            for name in os.listdir(d):
                entries[name] = "directory" if os.path.isdir(os.path.join(d, name)) else "file"
    if not found:
        return None
    return [{"name": n, "type": t} for n, t in sorted(entries.items())]


# ---- HTTP -------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>%(title)s - LuCI</title>
<link rel="stylesheet" href="/luci-static/standin/cascade.css">
<script>window.LUCI_ENV = %(env)s;</script>
<script src="/luci-static/standin/luci.js"></script>
</head><body>
<header><span class="brand">OpenWrt</span><nav>%(nav)s</nav></header>
<div id="maincontent"><div id="view"></div></div>
<div id="modal_overlay"><div class="modal"></div></div>
<footer>LuCI stand-in for tests (tests/luci/standin): real views, real rpcd plugin, real vwrp daemon.</footer>
</body></html>
"""

LOGIN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Login - LuCI</title>
<link rel="stylesheet" href="/luci-static/standin/cascade.css"></head><body>
<header><span class="brand">OpenWrt</span></header>
<div id="maincontent"><form method="post" class="cbi-section">
<h2>Authorization Required</h2>%(error)s
<div class="cbi-value"><label class="cbi-value-title">Username</label>
<div class="cbi-value-field"><input name="luci_username" id="luci_username" type="text" value="root"></div></div>
<div class="cbi-value"><label class="cbi-value-title">Password</label>
<div class="cbi-value-field"><input name="luci_password" id="luci_password" type="password"></div></div>
<div class="cbi-page-actions"><button class="cbi-button cbi-button-apply" id="luci_login">Log in</button></div>
</form></div></body></html>
"""


class Harness:
    def __init__(self, opts):
        self.app = os.path.abspath(opts.app)
        self.standin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin")
        env = dict(os.environ)
        env.update(kv.split("=", 1) for kv in opts.env)
        self.plugin = Plugin(opts.plugin, env)
        self.uci = Uci(opts.uci_dir)
        self.netns = opts.netns
        self.resources = [os.path.join(self.app, "htdocs/luci-static/resources"),
                          os.path.join(self.standin, "resources")]
        self.acl = Acl(glob.glob(os.path.join(self.app, "root/usr/share/rpcd/acl.d/*.json"))
                       + glob.glob(os.path.join(self.standin, "acl.d/*.json")))
        self.menu = {}
        for path in sorted(glob.glob(os.path.join(self.app, "root/usr/share/luci/menu.d/*.json"))
                           + glob.glob(os.path.join(self.standin, "menu.d/*.json"))):
            with open(path) as f:
                self.menu.update(json.load(f))
        self.sessions = {}
        self.lock = threading.Lock()

    def login(self, user, password):
        if user not in LOGINS or LOGINS[user][0] != password:
            return None
        sid = secrets.token_hex(16)
        self.sessions[sid] = self.acl.session(LOGINS[user][1], LOGINS[user][2])
        return sid

    def page(self, menu_path, sid):
        session = self.sessions[sid]
        entry = self.menu.get(menu_path)
        if not entry or entry.get("action", {}).get("type") != "view":
            return None
        nodespec = session.nodespec(entry.get("depends", {}).get("acl"))
        if nodespec is None:
            return None
        views = [(p, e) for p, e in sorted(self.menu.items()) if e.get("action", {}).get("type") == "view"
                 and session.nodespec(e.get("depends", {}).get("acl")) is not None]
        nav = " ".join('<a href="/cgi-bin/luci/%s"%s>%s &rsaquo; %s</a>' % (
            html.escape(p), ' class="active"' if p == menu_path else "",
            html.escape(p.split("/")[1].capitalize()), html.escape(e.get("title", p))) for p, e in views)
        nav += ' <a href="/cgi-bin/luci/admin/logout">Log out</a>'
        env = {"sessionid": sid, "ubuspath": "/ubus/", "pollinterval": 5, "nodespec": nodespec,
               "view": entry["action"]["path"], "requestpath": menu_path.split("/")}
        return PAGE % {"title": html.escape(entry.get("title", "")), "env": json.dumps(env), "nav": nav}

    def rpc(self, msg):
        def err(code, text):
            return {"jsonrpc": "2.0", "id": msg.get("id") if isinstance(msg, dict) else None,
                    "error": {"code": code, "message": text}}
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
            return err(-32600, "Invalid request")
        params = msg.get("params")
        if msg.get("method") != "call" or not isinstance(params, list) or len(params) != 4 \
                or not isinstance(params[3], dict):
            return err(-32602, "Invalid parameters")
        sid, obj, method, args = params
        session = self.sessions.get(sid)
        known = {"uci", "session", "file", "luci-rpc"} | ({"vwrp"} if self.plugin.methods is not None else set())
        if obj not in known:
            return err(-32000, "Object not found")
        if session is None or not session.access("ubus", obj, method):
            return err(-32002, "Access denied")
        if obj == "uci":
            if not uci_allowed(session, method, args.get("config")):
                return err(-32002, "Access denied")
            with self.lock:
                result = self.uci.call(method, args)
        elif obj == "vwrp":
            result = self.plugin.call(method, dict(args, ubus_rpc_session=sid))
        elif obj == "session" and method == "access":
            granted = session.access(args.get("scope", "ubus"), args.get("object", ""), args.get("function", ""))
            result = [UBUS_OK, {"access": granted}]
        elif obj == "file" and method == "list":
            entries = file_list(self.resources, str(args.get("path", "")))
            if not session.access("file", str(args.get("path", "")), "list"):
                result = [6]  # UBUS_STATUS_PERMISSION_DENIED
            else:
                result = [UBUS_OK, {"entries": entries}] if entries is not None else [4]
        elif obj == "luci-rpc" and method == "getNetworkDevices":
            result = [UBUS_OK, network_devices(self.netns)]
        else:
            return err(-32601, "Method not found")
        return {"jsonrpc": "2.0", "id": msg.get("id"), "result": result}


def handler(h):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("harness: " + (fmt % args) + "\n")

        def send(self, code, body, ctype):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def static(self, root, rel):
            path = os.path.realpath(os.path.join(root, rel))
            if not path.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(path):
                return self.send(404, "not found", "text/plain")
            ctype = {".js": "application/javascript", ".css": "text/css", ".json": "application/json"}.get(
                os.path.splitext(path)[1], "application/octet-stream")
            with open(path, "rb") as f:
                self.send(200, f.read(), ctype)

        def redirect(self, where, cookie=None):
            self.send_response(302)
            self.send_header("Location", where)
            if cookie is not None:
                self.send_header("Set-Cookie", "sysauth_http=%s; path=/cgi-bin/luci/; HttpOnly" % cookie)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def session_id(self):
            jar = http.cookies.SimpleCookie(self.headers.get("Cookie") or "")
            sid = jar["sysauth_http"].value if "sysauth_http" in jar else None
            return sid if sid in h.sessions else None

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/":
                return self.redirect("/cgi-bin/luci/admin/status/vwrp")
            if path.startswith("/cgi-bin/luci"):
                sid = self.session_id()
                if path.rstrip("/") == "/cgi-bin/luci/admin/logout":
                    h.sessions.pop(sid, None)
                    return self.redirect("/cgi-bin/luci/", cookie="")
                if sid is None:
                    return self.send(403, LOGIN % {"error": ""}, "text/html; charset=utf-8")
                menu_path = path[len("/cgi-bin/luci"):].strip("/") or "admin/status/vwrp"
                page = h.page(menu_path, sid)
                if page is None:
                    return self.send(404, "no such menu entry", "text/plain")
                return self.send(200, page, "text/html; charset=utf-8")
            if path.startswith("/luci-static/resources/"):
                rel = path[len("/luci-static/resources/"):]
                root = next((r for r in h.resources if os.path.isfile(os.path.join(r, rel))), h.resources[0])
                return self.static(root, rel)
            if path.startswith("/luci-static/standin/"):
                return self.static(h.standin, path[len("/luci-static/standin/"):])
            self.send(404, "not found", "text/plain")

        def do_POST(self):
            if self.path.startswith("/cgi-bin/luci"):
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(min(length, 4096)).decode(errors="replace"))
                sid = h.login(form.get("luci_username", [""])[0], form.get("luci_password", [""])[0])
                if sid is None:
                    return self.send(403, LOGIN % {"error": '<p class="alert-message error">Invalid username and/or password!</p>'},
                                     "text/html; charset=utf-8")
                return self.redirect(self.path, cookie=sid)
            if not (self.path == "/ubus" or self.path.startswith("/ubus/")):
                return self.send(404, "not found", "text/plain")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                msg = json.loads(self.rfile.read(min(length, 1 << 20)))
            except ValueError:
                return self.send(200, json.dumps({"jsonrpc": "2.0", "id": None,
                                                  "error": {"code": -32700, "message": "Parse error"}}),
                                 "application/json")
            reply = [h.rpc(m) for m in msg] if isinstance(msg, list) else h.rpc(msg)
            self.send(200, json.dumps(reply), "application/json")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--uci-dir", required=True)
    ap.add_argument("--netns", help="network namespace whose devices the pickers offer")
    ap.add_argument("--address", default="127.0.0.1", help="a loopback address to listen on")
    ap.add_argument("--env", action="append", default=[], help="K=V for the plugin's environment")
    opts = ap.parse_args()
    h = Harness(opts)
    if not opts.address.startswith("127."):
        sys.exit("harness: listens on loopback only")
    server = ThreadingHTTPServer((opts.address, 0), handler(h))
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
