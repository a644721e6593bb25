/*
 * A STAND-IN for the parts of LuCI's JavaScript runtime that the views of
 * luci-app-vwrp use: L, E, _, String.format, and the modules view, dom,
 * poll, rpc, ui, uci, form, fs, network and tools.widgets. It exists for
 * the browser test only and is never installed.
 *
 * Why a stand-in: the real runtime (luci-base's luci.js, rpc.js, form.js,
 * ui.js, uci.js) is served by uhttpd with the ucode LuCI dispatcher and
 * talks to rpcd over ubus, none of which runs on a Debian test machine.
 * What matters to the test is kept faithful to upstream LuCI:
 *  - views are loaded the LuCI way: the file is fetched, its leading
 *    'require NAME [as ALIAS]' lines name the modules it gets as
 *    arguments, and the class it returns is instantiated once (later
 *    requires get the same instance), which loads and renders it into
 *    #view and adds the Save/Reset footer unless the view sets those
 *    handlers to null;
 *  - permissions as luci-base handles them: L.hasViewPermission() reads
 *    the page's nodespec (null: not satisfied, false: read-only), a
 *    form.Map asks rpcd `session access uci CONFIG write` when it loads
 *    and, without it, renders every field, button and section control
 *    disabled; the footer's buttons are disabled when every map on the
 *    page is read-only, or, without maps, when the view is;
 *  - L.raise() appends the stack to the message as luci.js does (an
 *    uncaught RPC error reads "RPC call to vwrp/step_up failed with error
 *    -32002: Access denied" and then "  at ..." lines);
 *  - E()/dom.append() treat a bare string child as HTML and array items as
 *    text, as luci.js does;
 *  - rpc.declare() posts ubus JSON-RPC 2.0 "call" messages with the
 *    session id and maps params, expect, filter and reject as rpc.js does,
 *    so a view sees the same values (a number for a non-zero ubus status);
 *  - poll runs each function every N one-second ticks, never overlapping;
 *  - uci.js keeps changes locally until save(), which sends ubus uci
 *    add/set/delete; ui.changes.apply() sends uci apply and confirm;
 *  - form.Map parses options the way form.js does (validity, depends,
 *    rmempty, Flag defaults, custom cfgvalue/write/remove), then saves;
 *    renderWidget(section_id, option_index, cfgvalue) and getUIElement()
 *    have form.js's signatures;
 *  - widgets.DeviceSelect lists network.getDevices() (luci-rpc
 *    getNetworkDevices, loopback left out), keeps configured names that
 *    are not present, and takes a custom name unless `nocreate`.
 * Widgets and styling are reduced to plain inputs (a <select> where LuCI
 * draws its own dropdown); that is where it is smaller than LuCI.
 */
(function(window, document) {
'use strict';

/* ---- class system, L ------------------------------------------------ */

function extend(parent, props) {
	var C = function() {
		if (typeof(this.__init__) == 'function')
			this.__init__.apply(this, arguments);
	};
	C.prototype = Object.create(parent.prototype);
	Object.getOwnPropertyNames(props).forEach(function(k) {
		Object.defineProperty(C.prototype, k, Object.getOwnPropertyDescriptor(props, k));
	});
	C.prototype.constructor = C;
	C.prototype.super = function(key, args) {
		return parent.prototype[key].apply(this, args || []);
	};
	C.extend = function(p) { return extend(C, p); };
	C.isSubclass = true;
	return C;
}

var Class = function() {};
Class.extend = function(p) { return extend(Class, p); };

var env = window.LUCI_ENV || {};
env.pollinterval = env.pollinterval || 5;
env.rpctimeout = env.rpctimeout || 20;

var L = {
	env: env,
	Class: Class,
	bind: function(fn, self) {
		var args = Array.prototype.slice.call(arguments, 2);
		return function() { return fn.apply(self, args.concat(Array.prototype.slice.call(arguments))); };
	},
	isObject: function(v) { return v != null && typeof(v) == 'object'; },
	toArray: function(v) {
		if (v == null) return [];
		if (Array.isArray(v)) return v;
		if (typeof(v) == 'object') return [ v ];
		var s = String(v).trim();
		return s == '' ? [] : s.split(/\s+/);
	},
	resolveDefault: function(p, def) { return Promise.resolve(p).catch(function() { return def; }); },
	url: function() { return '/cgi-bin/luci/' + Array.prototype.join.call(arguments, '/'); },
	resource: function() { return '/luci-static/resources/' + Array.prototype.join.call(arguments, '/'); },
	/* As luci.js: the message, then the caller's stack frames. */
	raise: function(type, fmt) {
		var e = new Error(String.prototype.format.apply(String(fmt), Array.prototype.slice.call(arguments, 2)));
		e.name = type || 'Error';
		var stack = (new Error('stacktrace').stack || '').split(/\n/).map(function(f) { return f.trim() ? '  ' + f.trim() : ''; });
		while (stack.length && !/^  at /.test(stack[0]))
			stack.shift();
		if (stack.length && /\braise\b/.test(stack[0]))
			stack.shift();
		if (stack.length)
			e.message += '\n' + stack.join('\n');
		throw e;
	},
	/* luci.js: null without access to the view, false when read-only. */
	hasViewPermission: function() {
		if (!L.isObject(env.nodespec) || !env.nodespec.satisfied)
			return null;
		return !env.nodespec.readonly;
	},
	/* Runtime errors are shown in the page, as LuCI does, and kept for the test. */
	error: function(e) {
		if (!(e instanceof Error)) {
			try { L.raise.apply(L, arguments); } catch (x) { e = x; }
		}
		if (!e.reported) {
			e.reported = true;
			(window.__luciErrors = window.__luciErrors || []).push(String(e.name) + ': ' + e.message + '\n' + (e.stack || ''));
			ui.addNotification(e.name || _('Runtime error'), E('pre', [ e.message ]), 'danger');
		}
		throw e;
	}
};

window._ = function(s) { return s; };

/* LuCI's String.prototype.format: %s %d %f %x %t %h %q %% with flags,
 * width and precision. */
String.prototype.format = function() {
	var args = arguments, i = 0;
	var esc = function(s, re) { return String(s).replace(re, function(c) { return '&#' + c.charCodeAt(0) + ';'; }); };
	return this.replace(/%(?:([ 0]|'(.))?(-)?(\d+)?(?:\.(\d+))?([sdfxXthq%]))/g, function(m, pad, padc, left, width, prec, type) {
		if (type == '%')
			return '%';
		var p = args[i++], s;
		switch (type) {
		case 's': s = (p == null) ? '' : String(p); if (prec) s = s.substr(0, +prec); break;
		case 'd': s = String(Math.trunc(+p || 0)); break;
		case 'f': s = (+p || 0).toFixed(prec != null ? +prec : 6); break;
		case 'x': s = (Math.trunc(+p || 0)).toString(16); break;
		case 'X': s = (Math.trunc(+p || 0)).toString(16).toUpperCase(); break;
		case 'h': s = esc(p == null ? '' : p, /[&"'<>]/g); break;
		case 'q': s = esc(p == null ? '' : p, /[&"'<>\s]/g); break;
		case 't':
			var ts = Math.trunc(+p || 0), tm = 0, th = 0, td = 0;
			if (ts > 59) { tm = Math.floor(ts / 60); ts = ts % 60; }
			if (tm > 59) { th = Math.floor(tm / 60); tm = tm % 60; }
			if (th > 23) { td = Math.floor(th / 24); th = th % 24; }
			s = (td > 0) ? '%dd %dh %dm %ds'.format(td, th, tm, ts) : '%dh %dm %ds'.format(th, tm, ts);
			break;
		}
		var fill = padc || (pad == '0' ? '0' : ' ');
		while (width && s.length < +width)
			s = left ? s + ' ' : fill + s;
		return s;
	});
};

/* ---- dom, E --------------------------------------------------------- */

var dom = {
	elem: function(e) { return e != null && typeof(e) == 'object' && 'nodeType' in e; },
	parse: function(s) {
		var d = document.createElement('div');
		d.innerHTML = s;
		return d.firstChild;
	},
	append: function(node, children) {
		if (!this.elem(node))
			return null;
		if (Array.isArray(children)) {
			for (var i = 0; i < children.length; i++)
				if (this.elem(children[i]))
					node.appendChild(children[i]);
				else if (children !== null && children !== undefined)
					node.appendChild(document.createTextNode('' + children[i]));
			return node.lastChild;
		}
		if (typeof(children) == 'function')
			return this.append(node, children(node));
		if (this.elem(children))
			return node.appendChild(children);
		if (children !== null && children !== undefined) {
			node.innerHTML = '' + children;
			return node.lastChild;
		}
		return null;
	},
	content: function(node, children) {
		if (!this.elem(node))
			return null;
		while (node.firstChild)
			node.removeChild(node.firstChild);
		return this.append(node, children);
	},
	attr: function(node, key, val) {
		var attr = (typeof(key) == 'object' && key !== null) ? key : null;
		if (typeof(key) == 'string') { attr = {}; attr[key] = val; }
		for (var k in attr) {
			if (!attr.hasOwnProperty(k) || attr[k] == null)
				continue;
			switch (typeof(attr[k])) {
			case 'function': node.addEventListener(k, attr[k]); break;
			case 'object': node.setAttribute(k, JSON.stringify(attr[k])); break;
			default: node.setAttribute(k, attr[k]);
			}
		}
	},
	create: function(html, attr, data) {
		var elem;
		if (!(attr instanceof Object) || Array.isArray(attr)) {
			data = attr;
			attr = null;
		}
		if (Array.isArray(html)) {
			elem = document.createDocumentFragment();
			for (var i = 0; i < html.length; i++)
				elem.appendChild(html[i]);
		}
		else if (this.elem(html))
			elem = html;
		else if (html.charCodeAt(0) === 60)
			elem = this.parse(html);
		else
			elem = document.createElement(html);
		if (!elem)
			return null;
		this.attr(elem, attr);
		this.append(elem, data);
		return elem;
	},
	bindClassInstance: function(node, inst) { node.__luciInstance = inst; },
	findClassInstance: function(node) {
		for (; node; node = node.parentNode)
			if (node.__luciInstance)
				return node.__luciInstance;
		return null;
	},
	callClassMethod: function(node, method) {
		var inst = this.findClassInstance(node);
		return inst ? inst[method].apply(inst, Array.prototype.slice.call(arguments, 2)) : null;
	}
};
L.dom = dom;
window.E = function() { return dom.create.apply(dom, arguments); };

/* ---- rpc (ubus JSON-RPC over HTTP, as rpc.js) ----------------------- */

var rpcId = 1;
var rpc = {
	call: function(msg) {
		var url = (env.ubuspath || '/ubus/') + msg.params[1] + '.' + msg.params[2];
		var ctl = new AbortController();
		var timer = setTimeout(function() { ctl.abort(); }, env.rpctimeout * 1000);
		return fetch(url, {
			method: 'POST', body: JSON.stringify(msg), signal: ctl.signal,
			headers: { 'Content-Type': 'application/json' }
		}).finally(function() { clearTimeout(timer); });
	},
	declare: function(options) {
		var self = this;
		return function() {
			var args = Array.prototype.slice.call(arguments);
			var params = {}, p = 0;
			if (Array.isArray(options.params))
				for (; p < options.params.length; p++)
					params[options.params[p]] = args[p];
			var priv = [ undefined, undefined ].concat(args.slice(p));
			var req = { object: options.object, method: options.method, expect: options.expect,
			            filter: options.filter, raise: options.reject, params: params, priv: priv };
			var msg = { jsonrpc: '2.0', id: rpcId++, method: 'call',
			            params: [ env.sessionid || '00000000000000000000000000000000', options.object, options.method, params ] };
			return self.call(msg).then(function(res) {
				if (!res.ok)
					L.raise('RPCError', 'RPC call to %s/%s failed with HTTP error %d: %s',
						req.object, req.method, res.status, res.statusText || '?');
				return res.json();
			}).then(function(reply) { return self.handleCallReply(req, reply); });
		};
	},
	handleCallReply: function(req, msg) {
		var type = Object.prototype.toString, ret = null;
		if (!L.isObject(msg) || msg.jsonrpc != '2.0')
			L.raise('RPCError', 'RPC call to %s/%s returned invalid message frame', req.object, req.method);
		if (L.isObject(msg.error) && msg.error.code && msg.error.message)
			L.raise('RPCError', 'RPC call to %s/%s failed with error %d: %s',
				req.object, req.method, msg.error.code, msg.error.message || '?');
		if (Array.isArray(msg.result)) {
			if (req.raise && msg.result[0] !== 0)
				L.raise('RPCError', 'RPC call to %s/%s failed with ubus code %d: %s',
					req.object, req.method, msg.result[0], this.getStatusText(msg.result[0]));
			ret = (msg.result.length > 1) ? msg.result[1] : msg.result[0];
		}
		if (req.expect) {
			for (var key in req.expect) {
				if (ret != null && key != '')
					ret = ret[key];
				if (ret == null || type.call(ret) != type.call(req.expect[key]))
					ret = req.expect[key];
				break;
			}
		}
		if (typeof(req.filter) == 'function') {
			req.priv[0] = ret;
			req.priv[1] = req.params;
			ret = req.filter.apply(this, req.priv);
		}
		return ret;
	},
	getStatusText: function(code) {
		return [ _('Command OK'), _('Invalid command'), _('Invalid argument'), _('Method not found'),
		         _('Resource not found'), _('No data received'), _('Permission denied'), _('Request timeout'),
		         _('Not supported'), _('Unspecified error'), _('Connection lost') ][code] || _('Unknown error code');
	}
};

/* ---- poll ------------------------------------------------------------ */

var poll = {
	queue: [],
	tick: null,
	timer: null,
	add: function(fn, interval) {
		if (interval == null || interval <= 0)
			interval = env.pollinterval;
		if (isNaN(interval) || typeof(fn) != 'function')
			throw new TypeError('Invalid argument to LuCI.poll.add()');
		if (this.queue.some(function(e) { return e.fn === fn; }))
			return false;
		this.queue.push({ r: true, i: interval >>> 0, fn: fn });
		if (this.tick != null && !this.active())
			this.start();
		return true;
	},
	remove: function(fn) {
		var n = this.queue.length;
		this.queue = this.queue.filter(function(e) { return e.fn !== fn; });
		if (!this.queue.length)
			this.stop();
		return this.queue.length != n;
	},
	start: function() {
		if (this.active())
			return false;
		this.tick = 0;
		if (this.queue.length)
			this.timer = window.setInterval(L.bind(this.step, this), 1000);
		return true;
	},
	stop: function() {
		if (!this.active())
			return false;
		window.clearInterval(this.timer);
		this.timer = null;
		return true;
	},
	step: function() {
		for (var i = 0, e; (e = this.queue[i]) != null; i++) {
			if ((this.tick % e.i) != 0 || !e.r)
				continue;
			e.r = false;
			Promise.resolve(e.fn()).catch(function(err) { console.error(err); })
				.finally(function(q) { q.r = true; }.bind(null, e));
		}
		this.tick = (this.tick + 1) % Math.pow(2, 32);
	},
	active: function() { return this.timer != null; }
};

/* ---- ui ---------------------------------------------------------------- */

var ui = {
	showModal: function(title, children) {
		var overlay = document.getElementById('modal_overlay');
		var dlg = overlay.firstElementChild;
		dlg.setAttribute('class', 'modal');
		for (var i = 2; i < arguments.length; i++)
			dlg.classList.add(arguments[i]);
		dom.content(dlg, dom.create('h4', {}, title));
		dom.append(dlg, children);
		document.body.classList.add('modal-overlay-active');
		return dlg;
	},
	hideModal: function() {
		document.body.classList.remove('modal-overlay-active');
	},
	addNotification: function(title, children) {
		var mc = document.getElementById('maincontent') || document.body;
		var msg = E('div', { 'class': 'alert-message fade-in' }, [
			E('button', { 'class': 'btn right', 'click': function() { msg.remove(); } }, [ _('Dismiss') ]),
			title ? E('h4', [ title ]) : E([]),
			E('div', {}, children)
		]);
		for (var i = 2; i < arguments.length; i++)
			msg.classList.add(arguments[i]);
		mc.insertBefore(msg, mc.firstElementChild);
		return msg;
	},
	createHandlerFn: function(ctx, fn) {
		if (typeof(fn) == 'string')
			fn = ctx[fn];
		if (typeof(fn) != 'function')
			return null;
		var bound = Array.prototype.slice.call(arguments, 2);
		return function(ev) {
			var t = ev.currentTarget;
			t.classList.add('spinning');
			t.disabled = true;
			Promise.resolve(fn.apply(ctx, bound.concat([ ev ]))).finally(function() {
				t.classList.remove('spinning');
				t.disabled = false;
			});
		};
	},
	changes: {
		/* LuCI applies with rollback and then confirms; so does this. */
		apply: function(checked) {
			var call = rpc.declare({ object: 'uci', method: 'apply', params: [ 'timeout', 'rollback' ], reject: true });
			var confirm = rpc.declare({ object: 'uci', method: 'confirm', reject: true });
			return call(30, checked !== false).then(function() { return confirm(); }).then(function() {
				ui.addNotification(null, E('p', { 'id': 'applied' }, [ _('Configuration changes applied.') ]), 'info');
			}, function(e) {
				ui.addNotification(null, E('p', [ _('Apply request failed: %s').format(e.message) ]), 'danger');
			});
		}
	}
};
L.ui = ui;

/* ---- datatypes (the subset of validation.js the views name) ---------- */

var types = {
	integer: function(v) { return /^-?\d+$/.test(v) || _('valid integer value'); },
	uinteger: function(v) { return /^\d+$/.test(v) || _('positive integer value'); },
	range: function(v, lo, hi) { var n = /^-?\d+(?:\.\d+)?$/.test(v) ? +v : NaN; return (n >= lo && n <= hi) || _('value between %f and %f').format(lo, hi); },
	min: function(v, lo) { var n = /^-?\d+(?:\.\d+)?$/.test(v) ? +v : NaN; return n >= lo || _('value greater or equal to %f').format(lo); },
	max: function(v, hi) { var n = /^-?\d+(?:\.\d+)?$/.test(v) ? +v : NaN; return n <= hi || _('value smaller or equal to %f').format(hi); },
	netdevname: function(v) {
		return (v != '.' && v != '..' && /^[^:\/%\s]{1,15}$/.test(v)) || _('valid network device name between 1 and 15 characters not containing ":", "/", "%" or spaces');
	},
	uciname: function(v) { return /^[a-zA-Z0-9_]+$/.test(v) || _('valid UCI identifier'); },
	macaddr: function(v) {
		var m = /^([a-fA-F0-9]{2}):([a-fA-F0-9]{2}:){4}[a-fA-F0-9]{2}$/.exec(v);
		return (m != null && !(+m[1] & 1)) || _('valid MAC address');
	}
};

/* "and(uinteger,range(1,254))" -> function(value) -> true | message */
function compileType(code) {
	var m = /^\s*(\w+)\s*(?:\((.*)\))?\s*$/.exec(code);
	if (!m || (!types[m[1]] && m[1] != 'and' && m[1] != 'or'))
		L.raise('SyntaxError', 'Unhandled token "%s"', code);
	var args = [], depth = 0, cur = '';
	(m[2] || '').split('').forEach(function(c) {
		if (c == ',' && depth == 0) { args.push(cur); cur = ''; return; }
		depth += (c == '(') - (c == ')');
		cur += c;
	});
	if (m[2] != null && (cur || args.length)) args.push(cur);
	if (m[1] == 'and' || m[1] == 'or') {
		var subs = args.map(compileType);
		return function(v) {
			var errs = [];
			for (var i = 0; i < subs.length; i++) {
				var r = subs[i](v);
				if (m[1] == 'and' && r !== true) return r;
				if (m[1] == 'or' && r === true) return true;
				errs.push(r);
			}
			return m[1] == 'and' ? true : _('One of the following: %s').format(errs.join(', '));
		};
	}
	var fn = types[m[1]], nums = args.map(function(a) { return isNaN(a) ? a.trim() : +a; });
	return function(v) { return fn.apply(null, [ v ].concat(nums)); };
}

/* ---- uci (uci.js: local changes until save) --------------------------- */

var uciGet = rpc.declare({ object: 'uci', method: 'get', params: [ 'config' ], expect: { values: {} }, reject: true });
var callSessionAccess = rpc.declare({ object: 'session', method: 'access', params: [ 'scope', 'object', 'function' ], expect: { access: false } });
var uciAdd = rpc.declare({ object: 'uci', method: 'add', params: [ 'config', 'type', 'name', 'values' ], expect: { section: '' }, reject: true });
var uciSet = rpc.declare({ object: 'uci', method: 'set', params: [ 'config', 'section', 'values' ], reject: true });
var uciDelete = rpc.declare({ object: 'uci', method: 'delete', params: [ 'config', 'section', 'options' ], reject: true });

var uci = {
	state: { values: {}, creates: {}, changes: {}, deletes: {} },
	newid: 0,
	load: function(conf) {
		var self = this;
		return uciGet(conf).then(function(values) {
			self.state.values[conf] = values;
			return [ conf ];
		});
	},
	section: function(conf, sid) {
		var c = this.state.creates[conf] || {}, v = this.state.values[conf] || {};
		var d = this.state.deletes[conf] || {};
		if (d[sid] === true)
			return null;
		return c[sid] || v[sid] || null;
	},
	get: function(conf, sid, opt) {
		var s = this.section(conf, sid);
		if (!s)
			return null;
		if (opt == null)
			return s;
		var ch = (this.state.changes[conf] || {})[sid] || {};
		if (ch.hasOwnProperty(opt))
			return ch[opt];
		var d = (this.state.deletes[conf] || {})[sid];
		if (L.isObject(d) && d[opt])
			return null;
		return s[opt];
	},
	sections: function(conf, type, cb) {
		var self = this, all = {};
		[ this.state.values[conf] || {}, this.state.creates[conf] || {} ].forEach(function(src) {
			Object.keys(src).forEach(function(sid) {
				var s = self.section(conf, sid);
				if (s && (type == null || s['.type'] == type))
					all[sid] = s;
			});
		});
		var list = Object.keys(all).map(function(sid) {
			var merged = Object.assign({}, all[sid]);
			Object.keys(merged).concat(Object.keys((self.state.changes[conf] || {})[sid] || {})).forEach(function(o) {
				if (o.charAt(0) != '.') {
					var val = self.get(conf, sid, o);
					if (val == null) delete merged[o]; else merged[o] = val;
				}
			});
			return merged;
		}).sort(function(a, b) { return a['.index'] - b['.index']; });
		if (typeof(cb) == 'function')
			list.forEach(function(s) { cb.call(self, s, s['.name']); });
		return list;
	},
	set: function(conf, sid, opt, val) {
		if (val == null || (val === '' && !Array.isArray(val)) || (Array.isArray(val) && !val.length))
			return this.unset(conf, sid, opt);
		if (!this.section(conf, sid))
			return;
		var ch = this.state.changes[conf] = this.state.changes[conf] || {};
		(ch[sid] = ch[sid] || {})[opt] = val;
		var d = (this.state.deletes[conf] || {})[sid];
		if (L.isObject(d))
			delete d[opt];
	},
	unset: function(conf, sid, opt) {
		if (!this.section(conf, sid))
			return;
		var ch = (this.state.changes[conf] || {})[sid];
		if (ch)
			delete ch[opt];
		if ((this.state.creates[conf] || {})[sid])
			return;
		var d = this.state.deletes[conf] = this.state.deletes[conf] || {};
		if (d[sid] !== true)
			(d[sid] = d[sid] || {})[opt] = true;
	},
	add: function(conf, type, name) {
		var sid = name || ('new%06x').replace('%06x', (0x100000 + this.newid++).toString(16));
		var c = this.state.creates[conf] = this.state.creates[conf] || {};
		var n = Object.keys(this.state.values[conf] || {}).length + Object.keys(c).length;
		c[sid] = { '.type': type, '.name': sid, '.create': name, '.anonymous': !name, '.index': 1000 + n };
		return sid;
	},
	remove: function(conf, sid) {
		var c = this.state.creates[conf] || {};
		if (c[sid])
			delete c[sid];
		else
			(this.state.deletes[conf] = this.state.deletes[conf] || {})[sid] = true;
		delete (this.state.changes[conf] || {})[sid];
	},
	/* Sends the local changes to rpcd (staged there until apply). */
	save: function() {
		var self = this, confs = {}, calls = Promise.resolve();
		[ 'creates', 'changes', 'deletes' ].forEach(function(k) {
			Object.keys(self.state[k]).forEach(function(c) { confs[c] = true; });
		});
		Object.keys(confs).forEach(function(conf) {
			var creates = self.state.creates[conf] || {}, changes = self.state.changes[conf] || {};
			var deletes = self.state.deletes[conf] || {};
			Object.keys(creates).forEach(function(sid) {
				var s = creates[sid], values = Object.assign({}, changes[sid] || {});
				calls = calls.then(function() { return uciAdd(conf, s['.type'], s['.create'] || undefined, values); });
			});
			Object.keys(changes).forEach(function(sid) {
				if (!creates[sid] && Object.keys(changes[sid]).length)
					calls = calls.then(function() { return uciSet(conf, sid, changes[sid]); });
			});
			Object.keys(deletes).forEach(function(sid) {
				var d = deletes[sid];
				calls = calls.then(function() { return uciDelete(conf, sid, d === true ? undefined : Object.keys(d)); });
			});
		});
		return calls.then(function() {
			var loaded = Object.keys(self.state.values);
			self.state = { values: {}, creates: {}, changes: {}, deletes: {} };
			return Promise.all(loaded.map(function(c) { return self.load(c); }));
		});
	}
};

/* ---- form (form.js, reduced widgets) --------------------------------- */

function isEqual(a, b) {
	return JSON.stringify(L.toArray(a)) == JSON.stringify(L.toArray(b));
}

var CBIMap = Class.extend({
	__init__: function(config, title, description) {
		this.config = config;
		this.title = title || '';
		this.description = description || '';
		this.children = [];
		this.data = uci;
	},
	section: function(cls) {
		var s = Object.create(cls.prototype);
		cls.apply(s, [ this ].concat(Array.prototype.slice.call(arguments, 1)));
		this.children.push(s);
		return s;
	},
	/* form.js: without `uci CONFIG write` in the session, read-only. */
	load: function() {
		var self = this;
		var acl = (this.readonly == null) ? callSessionAccess('uci', this.config, 'write') : true;
		return Promise.all([ acl, uci.load(this.config) ]).then(function(res) {
			if (res[0] === false)
				self.readonly = true;
			return Promise.all(self.children.map(function(s) { return s.load(); }));
		});
	},
	render: function() {
		return this.load().then(L.bind(this.renderContents, this));
	},
	renderContents: function() {
		var node = this.root || (this.root = E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }));
		dom.content(node, [
			this.title ? E('h2', [ this.title ]) : E([]),
			this.description ? E('div', { 'class': 'cbi-map-descr' }, [ this.description ]) : E([])
		].concat(this.children.map(function(s) { return s.render(); })));
		dom.bindClassInstance(node, this);
		this.checkDepends();
		return node;
	},
	checkDepends: function() {
		this.children.forEach(function(s) { s.checkDepends(); });
	},
	parse: function() {
		var tasks = [];
		this.children.forEach(function(s) { tasks.push(s.parse()); });
		return Promise.all(tasks);
	},
	save: function(cb, silent) {
		this.checkDepends();
		return this.parse()
			.then(cb)
			.then(function() { return uci.save(); })
			.then(L.bind(this.load, this))
			.catch(function(e) {
				if (!silent)
					ui.showModal(_('Save error'), [
						E('p', [ _('An error occurred while saving the form:') ]),
						E('p', [ E('em', { 'style': 'white-space:pre-wrap', 'id': 'save-error' }, [ e.message ]) ]),
						E('div', { 'class': 'right' }, [ E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, [ _('Dismiss') ]) ])
					]);
				return Promise.reject(e);
			})
			.then(L.bind(this.renderContents, this));
	}
});

var CBITypedSection = Class.extend({
	__init__: function(map, sectiontype, title, description) {
		this.map = map;
		this.config = map.config;
		this.sectiontype = sectiontype;
		this.title = title || '';
		this.description = description || '';
		this.children = [];
		this.tabs = null;
		this.anonymous = false;
		this.addremove = false;
	},
	cfgsections: function() {
		return uci.sections(this.config, this.sectiontype).map(function(s) { return s['.name']; });
	},
	tab: function(name, title) {
		(this.tabs = this.tabs || []).push({ name: name, title: title });
	},
	load: function() {
		var self = this;
		return Promise.all(this.cfgsections().map(function(sid) {
			return Promise.all(self.children.map(function(o) { return o.load(sid); }));
		}));
	},
	option: function(cls, name, title, description) {
		var o = Object.create(cls.prototype);
		cls.call(o, this.map, this, name, title, description);
		this.children.push(o);
		return o;
	},
	taboption: function(tab, cls, name, title, description) {
		var o = this.option(cls, name, title, description);
		o.tab = tab;
		return o;
	},
	formvalue: function(section_id, option) {
		var o = this.children.filter(function(c) { return c.option == option; })[0];
		return o ? o.formvalue(section_id) : null;
	},
	checkDepends: function() {
		var self = this;
		this.cfgsections().forEach(function(sid) {
			self.children.forEach(function(o) {
				var row = self.map.root && self.map.root.querySelector('[id="cbi-' + self.config + '-' + sid + '-' + o.option + '"]');
				if (row)
					row.style.display = o.isActive(sid) ? '' : 'none';
			});
		});
	},
	parse: function() {
		var self = this, tasks = [];
		this.cfgsections().forEach(function(sid) {
			self.children.forEach(function(o) { tasks.push(o.parse(sid)); });
		});
		return Promise.all(tasks);
	},
	renderSectionAdd: function(extra_class) {
		if (!this.addremove)
			return E([]);
		var self = this, title = this.addbtntitle || _('Add');
		if (this.anonymous)
			return E('div', { 'class': 'cbi-section-create' }, [
				E('button', { 'class': 'cbi-button cbi-button-add', 'disabled': this.map.readonly || null, 'click': function() {
					uci.add(self.config, self.sectiontype);
					return self.map.save(null, true);
				} }, [ title ])
			]);
		var name = E('input', { 'type': 'text', 'class': 'cbi-section-create-name', 'id': 'add-' + this.sectiontype,
			'disabled': this.map.readonly || null });
		return E('div', { 'class': 'cbi-section-create' }, [
			name, ' ',
			E('button', { 'class': 'cbi-button cbi-button-add', 'id': 'add-' + this.sectiontype + '-button',
				'disabled': this.map.readonly || null, 'click': function() {
				var n = name.value;
				if (types.uciname(n) !== true || uci.section(self.config, n)) {
					name.classList.add('cbi-input-invalid');
					return;
				}
				uci.add(self.config, self.sectiontype, n);
				return self.map.save(null, true);
			} }, [ title ])
		]);
	},
	renderSection: function(sid) {
		var self = this, body = [], tabs = this.tabs;
		var row = function(o) { return o.render(sid); };
		if (tabs) {
			var menu = E('ul', { 'class': 'cbi-tabmenu' }), panes = [];
			tabs.forEach(function(t, i) {
				var pane = E('div', { 'class': 'cbi-tabcontainer', 'data-tab': t.name, 'style': i ? 'display:none' : '' },
					self.children.filter(function(o) { return o.tab == t.name; }).map(row));
				var li = E('li', { 'class': 'cbi-tab' + (i ? '-disabled' : ''), 'data-tab': t.name }, [
					E('a', { 'href': '#', 'click': function(ev) {
						ev.preventDefault();
						panes.forEach(function(p) { p.style.display = (p === pane) ? '' : 'none'; });
						menu.querySelectorAll('li').forEach(function(l) { l.className = (l === li) ? 'cbi-tab' : 'cbi-tab-disabled'; });
					} }, [ t.title ])
				]);
				menu.appendChild(li);
				panes.push(pane);
			});
			body = [ menu ].concat(panes);
		}
		else {
			body = this.children.map(row);
		}
		return E('div', { 'class': 'cbi-section-node', 'id': 'cbi-' + this.config + '-' + sid,
			'change': function() { self.checkDepends(); } }, [
			this.anonymous ? E([]) : E('h3', [ sid.toUpperCase() ]),
			this.addremove ? E('div', { 'class': 'cbi-section-remove right' }, [
				E('button', { 'class': 'cbi-button cbi-button-remove', 'disabled': this.map.readonly || null, 'click': function() {
					uci.remove(self.config, sid);
					return self.map.save(null, true);
				} }, [ _('Delete') ])
			]) : E([])
		].concat(body));
	},
	render: function() {
		var self = this;
		return E('div', { 'class': 'cbi-section', 'id': 'cbi-' + this.config + '-' + this.sectiontype }, [
			this.title ? E('h3', [ this.title ]) : E([]),
			this.description ? E('div', { 'class': 'cbi-section-descr' }, [ this.description ]) : E([])
		].concat(this.cfgsections().map(function(sid) { return self.renderSection(sid); }))
		 .concat([ this.renderSectionAdd() ]));
	}
});

var CBIValue = Class.extend({
	__init__: function(map, section, option, title, description) {
		this.map = map;
		this.section = section;
		this.config = map.config;
		this.option = option;
		this.title = title || '';
		this.description = description || '';
		this.deps = [];
		this.keylist = [];
		this.vallist = [];
		this.rmempty = true;
		this.optional = false;
		this.widgets = {};
	},
	depends: function(field, value) {
		var d = field;
		if (typeof(field) == 'string') { d = {}; d[field] = value; }
		this.deps.push(d);
	},
	value: function(key, val) {
		this.keylist.push(String(key));
		this.vallist.push(val != null ? val : key);
	},
	cfgvalue: function(section_id) {
		return uci.get(this.config, section_id, this.ucioption || this.option);
	},
	formvalue: function(section_id) {
		var w = this.widgets[section_id];
		return w ? w.getValue() : null;
	},
	isActive: function(section_id) {
		var self = this;
		if (!this.deps.length)
			return true;
		return this.deps.some(function(d) {
			return Object.keys(d).every(function(f) {
				var dep = self.section.children.filter(function(c) { return c.option == f; })[0];
				if (dep && !dep.isActive(section_id))
					return false;
				return String(self.section.formvalue(section_id, f)) == String(d[f]);
			});
		});
	},
	isValid: function(section_id) {
		var w = this.widgets[section_id];
		return w ? w.validate() : true;
	},
	write: function(section_id, value) {
		return uci.set(this.config, section_id, this.ucioption || this.option, value);
	},
	remove: function(section_id) {
		return uci.unset(this.config, section_id, this.ucioption || this.option);
	},
	parse: function(section_id) {
		var active = this.isActive(section_id);
		if (active && !this.isValid(section_id)) {
			var title = this.title || this.option;
			return Promise.reject(new TypeError(_('Option "%s" contains an invalid input value.').format(title)));
		}
		if (!active)
			return Promise.resolve(this.retain ? null : this.remove(section_id));
		var cval = this.cfgvalue(section_id), fval = this.formvalue(section_id);
		if (fval != '' && fval != null) {
			if (this.forcewrite || !isEqual(cval, fval))
				return Promise.resolve(this.write(section_id, fval));
		}
		else if (this.rmempty || this.optional) {
			return Promise.resolve(this.remove(section_id));
		}
		else if (!isEqual(cval, fval)) {
			return Promise.reject(new TypeError(_('Option "%s" must not be empty.').format(this.title || this.option)));
		}
		return Promise.resolve();
	},
	/* A check of one value: datatype, then the option's validate(). */
	checker: function(section_id) {
		var self = this, dt = this.datatype ? compileType(this.datatype) : null;
		return function(v) {
			if (v === '' || v == null)
				return (self.optional || self.rmempty) ? true : _('non-empty value');
			var r = dt ? dt(v) : true;
			if (r !== true)
				return _('Expecting: %s').format(r);
			return typeof(self.validate) == 'function' ? self.validate(section_id, v) : true;
		};
	},
	bindField: function(field, check) {
		var run = function() {
			var r = check(field.value);
			field.classList.toggle('cbi-input-invalid', r !== true);
			if (r !== true) field.setAttribute('data-tooltip', r); else field.removeAttribute('data-tooltip');
			return r === true;
		};
		field.addEventListener('input', run);
		field.addEventListener('blur', run);
		return run;
	},
	/* form.js: an option or its map may be read-only. */
	isReadonly: function() {
		return (this.readonly != null) ? this.readonly : !!this.map.readonly;
	},
	/* The widget of a section, with getValue/setValue as ui.js widgets. */
	getUIElement: function(section_id) {
		return this.widgets[section_id] || null;
	},
	load: function(section_id) {
		return Promise.resolve();
	},
	renderWidget: function(section_id, option_index, cfgvalue) {
		var value = (cfgvalue != null) ? cfgvalue : (this.default != null ? this.default : '');
		var id = 'widget.cbid.' + this.config + '.' + section_id + '.' + this.option;
		var input = E('input', { 'type': this.password ? 'password' : 'text', 'class': 'cbi-input-text', 'id': id,
			'placeholder': this.placeholder, 'value': String(value), 'autocomplete': this.password ? 'new-password' : null,
			'disabled': this.isReadonly() || null });
		var nodes = [ input ];
		if (this.keylist.length) {
			var dl = E('datalist', { 'id': id + '.choices' }, this.keylist.map(function(k) { return E('option', { 'value': k }); }));
			input.setAttribute('list', id + '.choices');
			nodes.push(dl);
		}
		if (this.password)
			nodes.push(E('button', { 'class': 'cbi-button cbi-button-neutral', 'title': _('Reveal/hide password'), 'click': function(ev) {
				ev.preventDefault();
				input.type = (input.type == 'password') ? 'text' : 'password';
			} }, [ '∗' ]));
		var validate = this.bindField(input, this.checker(section_id));
		this.widgets[section_id] = {
			getValue: function() { return input.value; },
			setValue: function(v) { input.value = v; validate(); },
			validate: validate
		};
		return E('div', {}, nodes);
	},
	render: function(section_id) {
		var cfg = this.cfgvalue(section_id);
		return E('div', { 'class': 'cbi-value', 'id': 'cbi-' + this.config + '-' + section_id + '-' + this.option, 'data-name': this.option }, [
			E('label', { 'class': 'cbi-value-title', 'for': 'widget.cbid.' + this.config + '.' + section_id + '.' + this.option }, [ this.title ]),
			E('div', { 'class': 'cbi-value-field' }, [
				this.renderWidget(section_id, 0, cfg),
				this.description ? E('div', { 'class': 'cbi-value-description' }, [ this.description ]) : E([])
			])
		]);
	}
});

var CBIFlagValue = CBIValue.extend({
	__init__: function() {
		this.super('__init__', arguments);
		this.enabled = '1';
		this.disabled = '0';
		this.default = this.disabled;
	},
	renderWidget: function(section_id, option_index, cfgvalue) {
		var self = this, value = (cfgvalue != null) ? cfgvalue : this.default;
		var box = E('input', { 'type': 'checkbox', 'id': 'widget.cbid.' + this.config + '.' + section_id + '.' + this.option,
			'disabled': this.isReadonly() || null });
		box.checked = [ '1', 'yes', 'on', 'true', 'enabled' ].indexOf(String(value)) >= 0;
		this.widgets[section_id] = {
			getValue: function() { return box.checked ? self.enabled : self.disabled; },
			setValue: function(v) { box.checked = (v == self.enabled); },
			validate: function() { return true; }
		};
		return E('div', {}, [ box ]);
	},
	parse: function(section_id) {
		if (this.isActive(section_id)) {
			var fval = this.formvalue(section_id);
			if (fval == this.default && (this.optional || this.rmempty))
				return Promise.resolve(this.remove(section_id));
			return Promise.resolve(isEqual(fval, this.cfgvalue(section_id)) ? null : this.write(section_id, fval));
		}
		return Promise.resolve(this.retain ? null : this.remove(section_id));
	}
});

/* A <select> of choices [value, label]; several values with `multiple`;
 * an empty choice when `empty` (ui.Select's `optional`); with `create`, a
 * text field that adds a value of the user's own. */
function selectWidget(opt, section_id, choices, value, create, empty) {
	var id = 'widget.cbid.' + opt.config + '.' + section_id + '.' + opt.option;
	var values = L.toArray(value);
	var sel = E('select', { 'class': 'cbi-input-select', 'id': id, 'multiple': opt.multiple ? '' : null,
		'size': opt.multiple ? String(Math.min(Math.max(choices.length + 1, 2), 6)) : null,
		'disabled': opt.isReadonly() || null });
	var addChoice = function(v, label) {
		if (!Array.prototype.some.call(sel.options, function(o) { return o.value == v; }))
			sel.appendChild(E('option', { 'value': v }, [ label != null ? label : v ]));
	};
	if (!opt.multiple && empty)
		addChoice('', opt.placeholder ? opt.placeholder : _('-- Please choose --'));
	choices.forEach(function(c) { addChoice(c[0], c[1]); });
	values.forEach(function(v) { addChoice(v); });
	Array.prototype.forEach.call(sel.options, function(o) { o.selected = values.indexOf(o.value) >= 0; });
	if (!opt.multiple && sel.selectedIndex < 0 && sel.options.length)
		sel.selectedIndex = 0;
	var check = opt.checker(section_id);
	var read = function() {
		var picked = Array.prototype.filter.call(sel.options, function(o) { return o.selected; }).map(function(o) { return o.value; });
		return opt.multiple ? picked : (picked[0] != null ? picked[0] : '');
	};
	var validate = function() {
		var bad = L.toArray(read()).map(check).filter(function(r) { return r !== true; })[0];
		sel.classList.toggle('cbi-input-invalid', bad != null);
		return bad == null;
	};
	sel.addEventListener('change', validate);
	var nodes = [ sel ];
	if (create) {
		var custom = E('input', { 'type': 'text', 'class': 'cbi-input-text create-item-input', 'id': id + '.custom',
			'placeholder': _('-- custom --'), 'disabled': opt.isReadonly() || null });
		custom.addEventListener('change', function() {
			var v = custom.value.trim();
			if (v === '' || check(v) !== true)
				return custom.classList.toggle('cbi-input-invalid', v !== '');
			custom.classList.remove('cbi-input-invalid');
			addChoice(v);
			Array.prototype.forEach.call(sel.options, function(o) { if (o.value == v) o.selected = true; else if (!opt.multiple) o.selected = false; });
			custom.value = '';
			sel.dispatchEvent(new Event('change', { bubbles: true }));
		});
		nodes.push(' ', custom);
	}
	opt.widgets[section_id] = {
		getValue: read,
		setValue: function(v) {
			L.toArray(v).forEach(function(x) { addChoice(x); });
			Array.prototype.forEach.call(sel.options, function(o) { o.selected = L.toArray(v).indexOf(o.value) >= 0; });
			validate();
		},
		validate: validate
	};
	return E('div', {}, nodes);
}

var CBIListValue = CBIValue.extend({
	renderWidget: function(section_id, option_index, cfgvalue) {
		var value = (cfgvalue != null) ? cfgvalue : (this.default != null ? this.default : '');
		var vals = this.vallist;
		var choices = this.keylist.map(function(k, i) { return [ k, vals[i] ]; });
		return selectWidget(this, section_id, choices, value, false, this.optional);
	}
});

var CBIDynamicList = CBIValue.extend({
	renderWidget: function(section_id, option_index, cfgvalue) {
		var values = L.toArray(cfgvalue != null ? cfgvalue : this.default);
		var id = 'widget.cbid.' + this.config + '.' + section_id + '.' + this.option;
		var ro = this.isReadonly() || null;
		var list = E('div', { 'class': 'cbi-dynlist', 'id': id + '.list' });
		var check = this.checker(section_id);
		var addItem = function(v) {
			var item = E('div', { 'class': 'item', 'data-value': v }, [
				E('span', [ v ]), ' ',
				E('button', { 'class': 'cbi-button cbi-button-remove', 'disabled': ro, 'click': function(ev) {
					ev.preventDefault();
					item.remove();
					list.dispatchEvent(new Event('change', { bubbles: true }));
				} }, [ '×' ])
			]);
			list.appendChild(item);
		};
		values.forEach(addItem);
		var input = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'id': id, 'placeholder': this.placeholder, 'disabled': ro });
		var validate = this.bindField(input, function(v) { return v === '' ? true : check(v); });
		var add = function(ev) {
			if (ev) ev.preventDefault();
			if (input.value !== '' && validate()) {
				addItem(input.value);
				input.value = '';
				list.dispatchEvent(new Event('change', { bubbles: true }));
			}
		};
		input.addEventListener('keydown', function(ev) { if (ev.key == 'Enter') add(ev); });
		this.widgets[section_id] = {
			getValue: function() {
				return Array.prototype.map.call(list.querySelectorAll('.item'), function(i) { return i.getAttribute('data-value'); });
			},
			setValue: function(v) {
				list.querySelectorAll('.item').forEach(function(i) { i.remove(); });
				L.toArray(v).forEach(addItem);
			},
			validate: function() { return input.value === '' || validate(); }
		};
		return E('div', {}, [ list, E('div', { 'class': 'add-item' }, [
			input, ' ', E('button', { 'class': 'cbi-button cbi-button-add', 'id': id + '.add', 'disabled': ro, 'click': add }, [ '+' ])
		]) ]);
	}
});

/* form.js: shows its cfgvalue (a node, or HTML with rawhtml), saves nothing. */
var CBIDummyValue = CBIValue.extend({
	renderWidget: function(section_id, option_index, cfgvalue) {
		var value = (cfgvalue != null) ? cfgvalue : this.default;
		var out = E('div', { 'id': 'cbid.' + this.config + '.' + section_id + '.' + this.option });
		dom.append(out, this.rawhtml ? value : [ value ]);
		return out;
	},
	write: function() {},
	remove: function() {}
});

var form = {
	Map: CBIMap,
	TypedSection: CBITypedSection,
	Value: CBIValue,
	Flag: CBIFlagValue,
	ListValue: CBIListValue,
	DynamicList: CBIDynamicList,
	DummyValue: CBIDummyValue
};

/* ---- fs, network (reduced to what the views ask) --------------------------- */

var callFileList = rpc.declare({ object: 'file', method: 'list', params: [ 'path' ], expect: { entries: [] } });
var fs = {
	/* fs.js: rejects on a ubus error, like the real one. */
	list: function(path) {
		return callFileList(path).then(function(res) {
			if (typeof(res) == 'number')
				L.raise('Error', 'ubus code %d', res);
			return res;
		});
	}
};

var callNetworkDevices = rpc.declare({ object: 'luci-rpc', method: 'getNetworkDevices', expect: { '': {} } });
var network = {
	/* network.js leaves loopback, tunnels and wireless masters out. */
	getDevices: function() {
		return callNetworkDevices().then(function(devs) {
			return Object.keys(L.isObject(devs) ? devs : {}).filter(function(n) { return !/^(lo|sit\d+|gre\d+|ifb\d+|wmaster\d+)$/.test(n); })
				.sort().map(function(n) {
					var d = devs[n];
					return { getName: function() { return n; }, isUp: function() { return !!d.up; }, getMAC: function() { return d.mac; } };
				});
		});
	}
};

/* ---- tools.widgets ------------------------------------------------------- */

var DeviceSelect = CBIValue.extend({
	load: function(section_id) {
		var self = this;
		return network.getDevices().then(function(devices) { self.devices = devices; });
	},
	renderWidget: function(section_id, option_index, cfgvalue) {
		var self = this;
		var value = (cfgvalue != null) ? cfgvalue : (this.default != null ? this.default : '');
		var choices = (this.devices || []).filter(function(d) {
			return typeof(self.filter) != 'function' || self.filter(section_id, d.getName(), d) !== false;
		}).map(function(d) { return [ d.getName(), d.getName() + (d.isUp() ? '' : ' (' + _('down') + ')') ]; });
		return selectWidget(this, section_id, choices, value, !this.nocreate, this.optional || this.rmempty);
	}
});

var widgets = { DeviceSelect: DeviceSelect };

/* ---- view --------------------------------------------------------------- */

var View = Class.extend({
	__init__: function() {
		var vp = document.getElementById('view');
		dom.content(vp, E('div', { 'class': 'spinning' }, [ _('Loading view…') ]));
		this.ready = Promise.resolve(this.load())
			.then(L.bind(this.render, this))
			.then(L.bind(function(nodes) {
				dom.content(vp, nodes);
				dom.append(vp, this.addFooter());
				document.body.setAttribute('data-view-ready', '1');
			}, this)).catch(L.error);
	},
	load: function() {},
	render: function() {},
	handleSave: function() {
		var tasks = [];
		document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(function(map) {
			tasks.push(dom.callClassMethod(map, 'save'));
		});
		return Promise.all(tasks);
	},
	handleSaveApply: function(ev, mode) {
		return this.handleSave(ev).then(function() { return ui.changes.apply(mode == '0'); });
	},
	handleReset: function() {
		var tasks = [];
		document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(function(map) {
			tasks.push(dom.callClassMethod(map, 'render'));
		});
		return Promise.all(tasks);
	},
	/* luci.js: disabled when every map is read-only, or, on a page
	 * without maps, when the view is. */
	addFooter: function() {
		var footer = E('div', { 'class': 'cbi-page-actions' });
		var maps = Array.prototype.map.call(document.getElementById('view').querySelectorAll('.cbi-map'),
			function(m) { return dom.findClassInstance(m); }).filter(function(m) { return m != null; });
		var readonly = maps.length ? maps.every(function(m) { return m.readonly; }) : !L.hasViewPermission();
		if (this.handleSaveApply)
			footer.appendChild(E('button', { 'class': 'cbi-button cbi-button-apply', 'id': 'save-apply', 'disabled': readonly || null,
				'click': ui.createHandlerFn(this, 'handleSaveApply') }, [ _('Save & Apply') ]));
		if (this.handleSave)
			footer.appendChild(E('button', { 'class': 'cbi-button cbi-button-save', 'disabled': readonly || null,
				'click': ui.createHandlerFn(this, 'handleSave') }, [ _('Save') ]));
		if (this.handleReset)
			footer.appendChild(E('button', { 'class': 'cbi-button cbi-button-reset', 'disabled': readonly || null,
				'click': ui.createHandlerFn(this, 'handleReset') }, [ _('Reset') ]));
		return footer;
	}
});
View.extend = function(p) { return extend(View, p); };

/* ---- require ------------------------------------------------------------ */

var builtins = { view: View, dom: dom, poll: poll, rpc: rpc, ui: ui, uci: uci, form: form, baseclass: Class,
                 fs: fs, network: network, 'tools.widgets': widgets };
var classes = {};

L.require = function(name) {
	if (builtins.hasOwnProperty(name))
		return Promise.resolve(builtins[name]);
	if (classes[name])
		return classes[name];
	var url = L.resource(name.replace(/\./g, '/') + '.js');
	return (classes[name] = fetch(url).then(function(res) {
		if (!res.ok)
			L.raise('NetworkError', 'HTTP error %d while loading class file "%s"', res.status, url);
		return res.text();
	}).then(function(source) {
		var names = [], deps = [];
		var re = /^\s*'require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?';?\s*$/;
		var lines = source.split(/\n/);
		for (var i = 0; i < lines.length; i++) {
			var l = lines[i].trim();
			if (l == '' || l == "'use strict';" || l.indexOf('//') == 0)
				continue;
			var m = re.exec(l);
			if (!m)
				break;
			names.push(m[2] || m[1].replace(/[^a-zA-Z0-9_]/g, '_'));
			deps.push(L.require(m[1]));
		}
		return Promise.all(deps).then(function(instances) {
			var factory = new Function([ 'L' ].concat(names).join(','), source + '\n//# sourceURL=' + location.origin + url);
			var cls = factory.apply(factory, [ L ].concat(instances));
			if (typeof(cls) != 'function' || !cls.isSubclass)
				L.raise('TypeError', 'Class file "%s" did not return a class', url);
			return new cls();
		});
	}));
};

/* Boot: the page names its view (menu.d action path), as LuCI's dispatcher does. */
window.L = L;
document.addEventListener('DOMContentLoaded', function() {
	poll.start();
	if (env.view)
		L.require('view.' + env.view.replace(/\//g, '.')).catch(function(e) { try { L.error(e); } catch (x) {} });
});

})(window, document);
