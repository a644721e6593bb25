#!/usr/bin/env python3
"""A small stand-in for uhttpd + rpcd, for the luci-app-vwrp browser test.

It serves, on 127.0.0.1 only:
  /cgi-bin/luci/<menu path>   a LuCI-like page for a menu.d entry of the app,
                              which loads the view the entry names
  /luci-static/resources/...  the app's htdocs, as the router installs them
  /luci-static/standin/...    the stand-in LuCI runtime (standin/luci.js)
  POST /ubus[/...]            ubus JSON-RPC 2.0 as uhttpd-mod-ubus answers it

and answers ubus calls the way rpcd does:
  - object "vwrp" is the REAL exec plugin: `PLUGIN list` once at start (its
    methods; no object if it fails), then `PLUGIN call METHOD` per call with
    the arguments plus "ubus_rpc_session" as JSON on stdin; one JSON object
    on stdout is [0, obj], nothing is [5] (no data), anything else [2];
    a plugin still running after 30 s is killed: [7];
  - object "uci" over a UCI file in --uci-dir: get/add/set/delete are staged
    (as in rpcd's session delta), apply/commit write the file;
  - every call is checked against the app's own ACL file (acl.d), as for a
    login granted only that ACL group; anything else is -32002 Access denied.

Usage: harness.py --app DIR --plugin PATH --uci-dir DIR [--env K=V ...]
Prints "PORT <n>" on stdout once it listens.
"""

import argparse
import fnmatch
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


# ---- ACL (rpcd session.c semantics for one group) ------------------------

class Acl:
    def __init__(self, files):
        self.read_ubus, self.write_ubus, self.read_uci, self.write_uci = {}, {}, set(), set()
        for path in files:
            with open(path) as f:
                for group in json.load(f).values():
                    for kind, ubus, ucis in (("read", self.read_ubus, self.read_uci), ("write", self.write_ubus, self.write_uci)):
                        perms = group.get(kind, {})
                        for obj, methods in perms.get("ubus", {}).items():
                            ubus.setdefault(obj, []).extend(methods)
                        ucis.update(perms.get("uci", []))

    def ubus(self, obj, method):
        for table in (self.read_ubus, self.write_ubus):
            if any(fnmatch.fnmatchcase(method, m) for m in table.get(obj, [])):
                return True
        return False

    def uci(self, method, config):
        if method in ("get", "changes"):
            return config in self.read_uci or config in self.write_uci
        if method in ("apply", "confirm"):
            return bool(self.write_uci)
        return config in self.write_uci


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


class Harness:
    def __init__(self, opts):
        self.app = os.path.abspath(opts.app)
        self.standin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin")
        env = dict(os.environ)
        env.update(kv.split("=", 1) for kv in opts.env)
        self.plugin = Plugin(opts.plugin, env)
        self.uci = Uci(opts.uci_dir)
        self.acl = Acl(glob.glob(os.path.join(self.app, "root/usr/share/rpcd/acl.d/*.json")))
        self.menu = {}
        for path in sorted(glob.glob(os.path.join(self.app, "root/usr/share/luci/menu.d/*.json"))):
            with open(path) as f:
                self.menu.update(json.load(f))
        self.session = secrets.token_hex(16)
        self.lock = threading.Lock()

    def page(self, menu_path):
        entry = self.menu.get(menu_path)
        if not entry or entry.get("action", {}).get("type") != "view":
            return None
        nav = " ".join('<a href="/cgi-bin/luci/%s"%s>%s &rsaquo; %s</a>' % (
            html.escape(p), ' class="active"' if p == menu_path else "",
            html.escape(p.split("/")[1].capitalize()), html.escape(e.get("title", p)))
            for p, e in sorted(self.menu.items()) if e.get("action", {}).get("type") == "view")
        env = {"sessionid": self.session, "ubuspath": "/ubus/", "pollinterval": 5,
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
        if sid != self.session:
            return err(-32002, "Access denied")
        if obj == "uci":
            if not self.acl.uci(method, args.get("config")):
                return err(-32002, "Access denied")
            with self.lock:
                result = self.uci.call(method, args)
        elif obj == "vwrp" and self.plugin.methods is not None:
            if not self.acl.ubus(obj, method):
                return err(-32002, "Access denied")
            result = self.plugin.call(method, dict(args, ubus_rpc_session=sid))
        else:
            return err(-32000, "Object not found")
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

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/":
                self.send_response(302)
                self.send_header("Location", "/cgi-bin/luci/admin/status/vwrp")
                self.end_headers()
            elif path.startswith("/cgi-bin/luci/"):
                page = h.page(path[len("/cgi-bin/luci/"):].strip("/"))
                if page is None:
                    self.send(404, "no such menu entry", "text/plain")
                else:
                    self.send(200, page, "text/html; charset=utf-8")
            elif path.startswith("/luci-static/resources/"):
                self.static(os.path.join(h.app, "htdocs/luci-static/resources"), path[len("/luci-static/resources/"):])
            elif path.startswith("/luci-static/standin/"):
                self.static(h.standin, path[len("/luci-static/standin/"):])
            else:
                self.send(404, "not found", "text/plain")

        def do_POST(self):
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
    ap.add_argument("--env", action="append", default=[], help="K=V for the plugin's environment")
    opts = ap.parse_args()
    h = Harness(opts)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(h))
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
