'use strict';
'require view';
'require dom';
'require form';
'require poll';
'require uci';
'require ui';
'require tools.widgets as widgets';
'require vwrp.common as common';

/*
 * Settings of vwrp: /etc/config/vwrp, every option of docs/CONFIG.md.
 * The checks here follow the daemon's own (src/config), so a value the
 * form accepts is one the daemon accepts; the daemon still checks the
 * whole file on reload and names the line of any mistake. Saving is
 * LuCI's usual save & apply, whose config.change event makes procd
 * reload vwrp. Devices are picked from the router's own (LuCI's device
 * picker); keys can be generated on the router (`vwrp genkey` through
 * ubus), and the Security tab shows which routers of the group the
 * running daemon hears with the same key. A login that may only read
 * vwrp gets every field disabled (form.js does that).
 */

var MS = { 'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000, 'd': 86400000 };

/* CONFIG.md "Durations": 100ms, 1.5s, 2m, or bare milliseconds; whole
 * milliseconds only; no spaces. Returns milliseconds or null. */
function parseDuration(s) {
	var m = /^(\d{1,12})(?:\.(\d{1,9}))?(ms|s|m|h|d)?$/.exec(s);
	if (!m)
		return null;
	var unit = MS[m[3] || 'ms'];
	var frac = m[2] || '';
	var scaled = (frac ? +frac : 0) * unit;
	var scale = Math.pow(10, frac.length);
	if (scaled % scale != 0)
		return null;
	return (+m[1]) * unit + scaled / scale;
}

function fmtDuration(ms) {
	if (ms == 0)
		return '0';
	var units = [ [ 'd', 86400000 ], [ 'h', 3600000 ], [ 'm', 60000 ], [ 's', 1000 ] ];
	for (var i = 0; i < units.length; i++)
		if (ms % units[i][1] == 0)
			return (ms / units[i][1]) + units[i][0];
	return ms + 'ms';
}

/* A validator for a duration in lo..hi ms; with `off`, 0 (any spelling)
 * turns the feature off. */
function duration(lo, hi, off) {
	return function(section_id, value) {
		if (value == null || value === '')
			return true;
		var ms = parseDuration(value);
		if (ms == null)
			return _('Expecting a duration such as 100ms, 1.5s or 2m (whole milliseconds)');
		if (off && ms == 0)
			return true;
		if (ms < lo || ms > hi)
			return off
				? _('Expecting a duration from %s to %s, or 0 for off').format(fmtDuration(lo), fmtDuration(hi))
				: _('Expecting a duration from %s to %s').format(fmtDuration(lo), fmtDuration(hi));
		return true;
	};
}

function absolutePath(maxBytes) {
	return function(section_id, value) {
		if (value == null || value === '')
			return true;
		if (value.charAt(0) != '/')
			return _('Expecting an absolute path');
		if (maxBytes && new Blob([ value ]).size > maxBytes)
			return _('Expecting at most %d bytes (the limit of a unix socket path)').format(maxBytes);
		return true;
	};
}

/* Decimal or 0x hex, as the daemon reads numbers. */
function parseNumber(s) {
	if (/^0[xX][0-9a-fA-F]{1,8}$/.test(s))
		return parseInt(s.substr(2), 16);
	if (/^\d{1,10}$/.test(s))
		return +s;
	return null;
}

function validateRouterId(section_id, value) {
	if (value == null || value === '')
		return true;
	var n;
	if (value.indexOf('.') >= 0) {
		var q = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
		if (!q || +q[1] > 255 || +q[2] > 255 || +q[3] > 255 || +q[4] > 255)
			return _('Expecting a number from 1 to 4294967295, 0x hex, or a dotted quad such as 192.0.2.1');
		n = ((+q[1]) * 16777216) + ((+q[2]) << 16) + ((+q[3]) << 8) + (+q[4]);
	}
	else {
		n = parseNumber(value);
	}
	if (n == null || n < 1 || n > 4294967295)
		return _('Expecting a number from 1 to 4294967295, 0x hex, or a dotted quad such as 192.0.2.1');
	return true;
}

function validateEthertype(section_id, value) {
	if (value == null || value === '')
		return true;
	var n = parseNumber(value);
	if (n == null || n < 0x0600 || n > 0xffff)
		return _('Expecting an EtherType from 0x0600 to 0xffff');
	return true;
}

function validateSharedMac(section_id, value) {
	if (value == null || value === '')
		return true;
	var m = /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/.exec(value);
	if (!m)
		return _('Expecting a MAC address xx:xx:xx:xx:xx:xx');
	if (parseInt(m[1], 16) & 1)
		return _('A multicast address cannot be shared: the first octet must be even');
	if (m.slice(1).every(function(o) { return parseInt(o, 16) == 0; }))
		return _('The all-zero address cannot be used');
	return true;
}

/* ID:SECRET. Messages never repeat the value: it holds the secret. */
function validateKey(section_id, value) {
	if (value == null || value === '')
		return true;
	var i = value.indexOf(':');
	var id = (i > 0) ? value.substr(0, i) : '';
	if (!/^\d{1,3}$/.test(id) || +id > 255)
		return _('Expecting ID:SECRET with an ID from 0 to 255');
	if (i + 1 >= value.length)
		return _('The secret after the colon is empty');
	return true;
}

function isUnicastIp(s) {
	var v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
	if (v4) {
		var o = v4.slice(1).map(Number);
		if (o.some(function(x) { return x > 255; }))
			return false;
		return !(o.every(function(x) { return x == 0; }) || o[0] >= 224);
	}
	if (!/^[0-9a-fA-F:.]+$/.test(s) || s.indexOf(':') < 0 || (s.match(/::/g) || []).length > 1)
		return false;
	if (/^ff/i.test(s) || /^(0*:)*:?0*$/.test(s))
		return false;
	return s.split(':').every(function(w) { return w.length <= 4 || /\./.test(w); });
}

function validateLanGateway(section_id, value) {
	if (value == null || value === '')
		return true;
	var m = /^([^\/@]+)\/(\d{1,3})@([^:\/%\s]{1,15})$/.exec(value);
	if (!m)
		return _('Expecting ADDRESS/PREFIX@DEVICE, e.g. 198.51.100.1/24@br-lan');
	if (!isUnicastIp(m[1]))
		return _('Expecting a unicast IPv4 or IPv6 address before the /');
	var v4 = m[1].indexOf(':') < 0;
	var len = +m[2];
	if (len < 1 || len > (v4 ? 32 : 128))
		return _('The prefix length must be 1..%d').format(v4 ? 32 : 128);
	if (v4 && len <= 30) {
		var o = m[1].split('.').map(Number);
		var addr = ((o[0] * 256 + o[1]) * 256 + o[2]) * 256 + o[3];
		var size = Math.pow(2, 32 - len);
		var host = addr % size;
		if (host == 0 || host == size - 1)
			return _('This is the network or broadcast address of its prefix');
	}
	return true;
}

function validateClientId(section_id, value) {
	if (value == null || value === '')
		return true;
	var bytes = (value.indexOf(':') >= 0) ? value.split(':') : value.match(/.{1,2}/g);
	if (!bytes || !bytes.every(function(b) { return /^[0-9a-fA-F]{2}$/.test(b); }) || bytes.length < 2 || bytes.length > 255)
		return _('Expecting 2 to 255 hex bytes, e.g. 01020304abcd or 01:02:03:04:ab:cd');
	return true;
}

function validateDuid(section_id, value) {
	if (value == null || value === '')
		return true;
	var bytes = (value.indexOf(':') >= 0) ? value.split(':') : value.match(/.{1,2}/g);
	if (!bytes || !bytes.every(function(b) { return /^[0-9a-fA-F]{2}$/.test(b); }) || bytes.length < 3 || bytes.length > 130)
		return _('Expecting 3 to 130 hex bytes, e.g. 00:03:00:01:02:00:00:00:00:01');
	return true;
}

function validateWeight(section_id, value) {
	if (value == null || value === '' || value == 'fatal')
		return true;
	if (!/^\d{1,3}$/.test(value) || +value < 1 || +value > 255)
		return _('Expecting a penalty from 1 to 255, or fatal');
	return true;
}

function validateScript(section_id, value) {
	if (value == null || value === '')
		return true;
	if (value.trim().charAt(0) != '/')
		return _('Expecting a program by absolute path, then its arguments');
	return true;
}

/* The id of ID:SECRET, or null. */
function keyId(value) {
	var m = /^(\d{1,3}):/.exec(value || '');
	return (m && +m[1] <= 255) ? +m[1] : null;
}

/* The keys of a group: `list key 'ID:SECRET'`, the first one signs. Two
 * password fields cover the rotation of CONFIG.md (new key second, then
 * first, then the old one removed); any further keys are kept as they are.
 * Generate fills the field with a fresh key made by the router. */
function keyOption(s, index, title, description) {
	var o = s.taboption('security', form.Value, '_key' + index, title, description);
	o.password = true;
	o.validate = validateKey;
	o.renderWidget = function(section_id, option_index, cfgvalue) {
		var node = form.Value.prototype.renderWidget.apply(this, arguments);
		var readonly = (this.readonly != null) ? this.readonly : this.map.readonly;
		var note = E('div', { 'class': 'cbi-value-description', 'id': 'vwrp-genkey-note-' + section_id + '-' + index });
		node.appendChild(E('button', {
			'class': 'cbi-button cbi-button-action', 'id': 'vwrp-genkey-' + section_id + '-' + index,
			'title': _('Make a new random key on the router'), 'disabled': readonly || null,
			'click': ui.createHandlerFn(this, 'generate', section_id, node, note)
		}, [ _('Generate') ]));
		node.appendChild(note);
		return node;
	};
	/* A new key keeps the field's id, unless the other key has it. */
	o.generate = function(section_id, node, note) {
		var here = this.formvalue(section_id);
		var other = keyId(this.section.formvalue(section_id, '_key' + (1 - index)));
		var id = keyId(here);
		if (id == null || id == other)
			for (id = 1; id == other; id++);
		return common.genkey(id).then(L.bind(function(res) {
			if (res.error != null) {
				dom.content(note, E('strong', [ _('No key was made: %s').format(res.error) ]));
				return;
			}
			this.getUIElement(section_id).setValue(res.key);
			var input = node.querySelector('input');
			if (input)
				input.type = 'text';
			dom.content(note, (index == 0 && here)
				? _('A new signing key. Routers refuse each other until all of them have it: safer is to generate it as the second key, Save & Apply that on every router, then swap the two keys.')
				: _('A new key. Copy the whole line (ID, colon and secret) into this field on every router of group %s, then Save & Apply on each.').format(section_id));
		}, this));
	};
	o.cfgvalue = function(section_id) {
		return L.toArray(uci.get('vwrp', section_id, 'key'))[index];
	};
	o.write = o.remove = function(section_id) {
		var old = L.toArray(uci.get('vwrp', section_id, 'key'));
		var keys = [ this.section.formvalue(section_id, '_key0'), this.section.formvalue(section_id, '_key1') ]
			.concat(old.slice(2))
			.filter(function(k) { return k != null && k !== ''; });
		if (keys.join('\n') == old.join('\n'))
			return;
		if (keys.length)
			uci.set('vwrp', section_id, 'key', keys);
		else
			uci.unset('vwrp', section_id, 'key');
	};
	return o;
}

function trackerTypes(o, types) {
	types.forEach(function(t) { o.depends('type', t); });
}

return view.extend({
	load: function() {
		return Promise.all([ uci.load('vwrp'), common.statusOrError() ]);
	},

	/* The key table of one group, from the last status. */
	fillHeard: function(box) {
		var st = this.status || {};
		var name = box.getAttribute('data-group');
		var g = (Array.isArray(st.groups) ? st.groups : []).filter(function(g) { return g.name == name; })[0];
		if (st.error != null)
			dom.content(box, E('em', [ _('Not known: %s').format(st.error) ]));
		else if (!g)
			dom.content(box, E('em', [ _('This group does not run on this router (disabled, or not applied yet).') ]));
		else
			dom.content(box, common.keyTable(g));
	},

	refreshHeard: function() {
		return common.statusOrError().then(L.bind(function(st) {
			this.status = st;
			document.querySelectorAll('.vwrp-heard').forEach(L.bind(this.fillHeard, this));
		}, this));
	},

	render: function(data) {
		var m, s, o;

		this.status = data[1];
		poll.add(L.bind(this.refreshHeard, this), 5);

		m = new form.Map('vwrp', _('WAN Redundancy'),
			_('Several routers share one WAN MAC address and one DHCP lease; exactly one of them uses the WAN. Options marked "same everywhere" must be identical on every router of a group.'));

		/* globals: at most one section. */
		s = m.section(form.TypedSection, 'globals', _('Daemon'));
		s.anonymous = true;
		s.addremove = true;
		s.renderSectionAdd = function(extra_class) {
			if (this.cfgsections().length)
				return E([]);
			return form.TypedSection.prototype.renderSectionAdd.call(this, extra_class);
		};

		o = s.option(form.Value, 'control_socket', _('Control socket'),
			_('Unix socket of the control API, used by the vwrp command and the rpcd plugin.'));
		o.placeholder = '/var/run/vwrp/vwrp.sock';
		o.validate = absolutePath(107);

		o = s.option(form.Value, 'state_dir', _('State directory'),
			_('Run-time state; keep it on tmpfs, vwrp writes nothing to flash.'));
		o.placeholder = '/var/run/vwrp';
		o.validate = absolutePath();

		o = s.option(form.Value, 'hook_dir', _('Hook directory'),
			_('Scripts run in name order on every role change.'));
		o.placeholder = '/etc/hotplug.d/vwrp';
		o.validate = absolutePath();

		o = s.option(form.Value, 'hook_timeout', _('Hook timeout'),
			_('A hook still running after this is killed (10ms to 1h).'));
		o.placeholder = '5s';
		o.validate = duration(10, 3600000);

		o = s.option(form.ListValue, 'log_level', _('Log level'));
		o.value('error', _('Errors'));
		o.value('warn', _('Warnings'));
		o.value('info', _('Information'));
		o.value('debug', _('Debug'));
		o.value('trace', _('Trace'));
		o.default = 'info';

		o = s.option(form.Value, 'realtime_priority', _('Real-time priority'),
			_('The daemon runs with this real-time (SCHED_RR) priority, 1 to 99, and its memory locked, so that a busy router cannot starve it past its forwarding permit. 0 turns both off.'));
		o.datatype = 'and(uinteger,range(0,99))';
		o.placeholder = '5';

		o = s.option(widgets.DeviceSelect, 'conntrack_device', _('Connection tracking sync device'),
			_('The link conntrackd syncs connection tracking over, when a group syncs it; it needs an IPv4 address. None chosen: the first control interface of the first such group.'));
		o.datatype = 'netdevname';
		o.noaliases = true;

		/* groups: one named section per shared WAN line. */
		s = m.section(form.TypedSection, 'group', _('Groups'),
			_('One group per WAN line that several routers share. Most homes need one, named after the WAN interface, e.g. "wan".'));
		s.anonymous = false;
		s.addremove = true;
		s.addbtntitle = _('Add group');

		s.tab('general', _('General'));
		s.tab('timing', _('Timing'));
		s.tab('security', _('Security'));
		s.tab('addresses', _('LAN gateway'));
		s.tab('dhcp', _('DHCP'));

		o = s.taboption('general', form.Flag, 'enabled', _('Enabled'),
			_('A disabled group is ignored, with its trackers, but still checked for mistakes.'));
		o.default = '1';

		o = s.taboption('general', widgets.DeviceSelect, 'wan_device', _('WAN device'),
			_('The Linux device facing the modem or ONT, e.g. wan or eth1.'));
		o.datatype = 'netdevname';
		o.noaliases = true;
		o.rmempty = false;

		o = s.taboption('general', form.Value, 'shared_mac', _('Shared MAC address'),
			_('The one MAC the ISP ever sees. Same everywhere. A locally administered address (02:...) is a safe choice.'));
		o.validate = validateSharedMac;
		o.placeholder = '02:00:00:00:00:01';
		o.rmempty = false;

		o = s.taboption('general', widgets.DeviceSelect, 'control', _('Control interfaces'),
			_('Where the routers exchange hellos: the LAN bridge, a dedicated cable, or both. None chosen: br-lan.'));
		o.noaliases = true;
		o.multiple = true;

		o = s.taboption('general', form.Value, 'priority', _('Priority'),
			_('The healthy router with the highest priority (minus the penalties of failed trackers) is active. 1 to 254.'));
		o.datatype = 'and(uinteger,range(1,254))';
		o.placeholder = '100';

		o = s.taboption('general', form.Flag, 'preempt', _('Preempt'),
			_('A router with a better priority takes over from a healthy active router, gracefully.'));
		o.default = '1';

		o = s.taboption('general', form.Value, 'preempt_delay', _('Preempt delay'),
			_('How long a better router must be stable before it preempts (0 to 1h).'));
		o.placeholder = '30s';
		o.validate = duration(0, 3600000);
		o.depends('preempt', '1');

		o = s.taboption('general', form.Value, 'group_id', _('Group ID'),
			_('Identifies the group on the wire: same everywhere, and different for each group. 1 to 255.'));
		o.datatype = 'and(uinteger,range(1,255))';
		o.placeholder = '1';

		o = s.taboption('general', form.Value, 'router_id', _('Router ID'),
			_('Unique within the group; breaks ties between equal priorities. A number, 0x hex or a dotted quad. Default: derived from the MAC of the first control interface.'));
		o.validate = validateRouterId;

		o = s.taboption('timing', form.Value, 'hello_interval', _('Hello interval'),
			_('How often hellos go out on the control interfaces: 10ms to 60s, sub-second values such as 100ms or 0.25s included.'));
		o.placeholder = '100ms';
		o.validate = duration(10, 60000);

		o = s.taboption('timing', form.Value, 'wan_hello_interval', _('WAN hello interval'),
			_('How often the active router sends hellos on the WAN, from the shared MAC: 10ms to 60s, or 0 for off. Default: the hello interval. A slower WAN hello makes a hard failover take the dead multiplier times this interval.'));
		o.validate = duration(10, 60000, true);

		o = s.taboption('timing', form.Value, 'dead_multiplier', _('Dead multiplier'),
			_('A peer is dead after this many hello intervals of silence. 3 to 255.'));
		o.datatype = 'and(uinteger,range(3,255))';
		o.placeholder = '3';

		o = s.taboption('timing', form.Value, 'hold_period', _('Hold period'),
			_('Anti-flap: at most one tracker-driven handover per hold period (1s to 1d).'));
		o.placeholder = '60s';
		o.validate = duration(1000, 86400000);

		o = s.taboption('timing', form.Value, 'prepare_timeout', _('Prepare timeout'),
			_('How long a chosen standby may prepare a takeover before it goes ahead anyway (10ms to 60s).'));
		o.placeholder = '1s';
		o.validate = duration(10, 60000);

		o = s.taboption('timing', form.Value, 'nudge_interval', _('Gateway nudge interval'),
			_('How often the active router sends an ARP request for the ISP gateway from the leased address: 1s to 1h, or 0 for off.'));
		o.placeholder = '10s';
		o.validate = duration(1000, 3600000, true);

		o = s.taboption('timing', form.Value, 'lan_announce_interval', _('LAN gateway announce interval'),
			_('How often the active router announces the LAN gateway addresses again (gratuitous ARP, unsolicited NA): 1s to 1h, or 0 for off. They are always announced when the role moves and when a LAN device gets its carrier back.'));
		o.placeholder = '0';
		o.validate = duration(1000, 3600000, true);

		o = s.taboption('timing', form.Flag, 'conntrack_sync', _('Sync connection tracking'),
			_('vwrp runs conntrackd, which copies the active router\'s connection tracking to the others, and commits it before a new active opens the WAN, so NAT connections survive a failover. Needs the conntrackd package.'));
		o.default = '0';

		keyOption(s, 0, _('Key'),
			_('ID:SECRET, e.g. 1:a long shared secret. It authenticates hellos (HMAC-SHA256) and must be the same on every router. Without a key anyone on the LAN can take the WAN over.'));
		keyOption(s, 1, _('Second key'),
			_('Also accepted, for rotating keys: add the new key here on all routers, then swap the two, then remove the old one.'));

		o = s.taboption('security', form.DummyValue, '_heard', _('Routers heard'),
			_('The routers of this group the running daemon hears, and whether they use the same key. Keys saved here count once applied.'));
		o.rawhtml = true;
		o.cfgvalue = L.bind(function(section_id) {
			var box = E('div', { 'class': 'vwrp-heard', 'data-group': section_id });
			this.fillHeard(box);
			return box;
		}, this);

		o = s.taboption('security', form.Value, 'ethertype', _('EtherType'),
			_('Of vwrp frames, and the only one a standby router\'s WAN lets through. Same everywhere. 0x0600 to 0xffff.'));
		o.placeholder = '0x88b5';
		o.validate = validateEthertype;

		o = s.taboption('addresses', form.DynamicList, 'lan_gateway', _('Gateway addresses'),
			_('Addresses that follow the active role, as ADDRESS/PREFIX@DEVICE, e.g. 198.51.100.1/24@br-lan. The active router holds them and announces them. A link-local IPv6 address, e.g. fe80::1/64@br-lan, is the LAN\'s IPv6 default router: only the active sends router advertisements from it.'));
		o.validate = validateLanGateway;

		o = s.taboption('dhcp', form.ListValue, 'dhcp', _('DHCP'),
			_('How the WAN lease is obtained and who owns it. udhcpc: vwrp renews the lease, runs udhcpc when it has none, and sets the address. netifd: the same, and the WAN interface (proto vwrp) shows the lease to fw4, ddns and mwan3. none: leases only from a DHCP client hook or from peers.'));
		o.value('udhcpc', 'udhcpc');
		o.value('netifd', 'netifd');
		o.value('none', _('none'));
		o.default = 'udhcpc';

		o = s.taboption('dhcp', form.Value, 'dhcp_client_id', _('DHCP client ID'),
			_('DHCP option 61, in hex. Same everywhere: the DHCP server must see one client. Default: 01 followed by the shared MAC.'));
		o.validate = validateClientId;

		o = s.taboption('dhcp', form.Flag, 'dhcpv6', _('DHCPv6'),
			_('The group is one DHCPv6 client on the WAN: one address and one delegated prefix, carried to the other routers and confirmed, never solicited again, at a takeover. Same everywhere. No wan6 interface (odhcp6c) may run on the WAN then.'));
		o.default = o.disabled;

		o = s.taboption('dhcp', form.Value, 'dhcpv6_duid', _('DHCPv6 DUID'),
			_('In hex. Same everywhere: the DHCPv6 server must see one client. Default: the DUID-LL of the shared MAC.'));
		o.validate = validateDuid;

		o = s.taboption('dhcp', form.Value, 'resolv_file', _('Resolver file'),
			_('Where the DNS servers of the lease are written.'));
		o.placeholder = '/var/run/vwrp/resolv.conf.auto';
		o.validate = absolutePath();

		/* trackers: named sections of their own. */
		s = m.section(form.TypedSection, 'tracker', _('Trackers'),
			_('A tracker watches one thing. While it is down its weight is taken off the router\'s priority, or, with weight "fatal", the router may not be active.'));
		s.anonymous = false;
		s.addremove = true;
		s.addbtntitle = _('Add tracker');

		o = s.option(form.ListValue, 'group', _('Group'));
		uci.sections('vwrp', 'group').forEach(function(g) { o.value(g['.name']); });
		o.rmempty = false;

		o = s.option(form.ListValue, 'type', _('Type'),
			_('link: the carrier of a device. ping: ICMP echo requests from the WAN. arping: an ARP request on the WAN. script: the exit status of a program. external: set through ubus or the vwrp command.'));
		o.value('link', _('link'));
		o.value('ping', _('ping'));
		o.value('arping', _('arping'));
		o.value('script', _('script'));
		o.value('external', _('external'));
		o.rmempty = false;

		o = s.option(widgets.DeviceSelect, 'device', _('Device'), _('Whose carrier is watched.'));
		o.datatype = 'netdevname';
		o.noaliases = true;
		o.rmempty = false;
		o.depends('type', 'link');

		o = s.option(form.DynamicList, 'target', _('Targets'),
			_('ping: one or more IPv4 or IPv6 addresses. arping: at most one IPv4 address; without one, the gateway of the lease.'));
		trackerTypes(o, [ 'ping', 'arping' ]);
		o.validate = function(section_id, value) {
			if (value == null || value === '')
				return true;
			if (!isUnicastIp(value))
				return _('Expecting a unicast IP address');
			if (this.section.formvalue(section_id, 'type') == 'arping' && value.indexOf(':') >= 0)
				return _('arping is IPv4 only');
			return true;
		};

		o = s.option(form.Value, 'count', _('Echo requests per target'), _('1 to 20.'));
		o.datatype = 'and(uinteger,range(1,20))';
		o.placeholder = '1';
		o.depends('type', 'ping');

		o = s.option(form.Value, 'reliability', _('Targets that must answer'),
			_('From 1 to the number of targets.'));
		o.datatype = 'and(uinteger,min(1))';
		o.placeholder = '1';
		o.depends('type', 'ping');
		o.validate = function(section_id, value) {
			var targets = L.toArray(this.section.formvalue(section_id, 'target'));
			if (value && targets.length && +value > targets.length)
				return _('At most the number of targets (%d)').format(targets.length);
			return true;
		};

		o = s.option(form.Value, 'script', _('Command'),
			_('A program by absolute path, with its arguments separated by spaces (no shell quoting). Exit status 0 means up.'));
		o.rmempty = false;
		o.validate = validateScript;
		o.depends('type', 'script');

		o = s.option(form.Value, 'interval', _('Interval'), _('Time between two checks (10ms to 1h).'));
		o.placeholder = '1s';
		o.validate = duration(10, 3600000);
		trackerTypes(o, [ 'link', 'ping', 'arping', 'script' ]);

		o = s.option(form.Value, 'timeout', _('Timeout'),
			_('How long one check may take (10ms to 1h); for ping and arping at most the interval.'));
		o.placeholder = '1s';
		trackerTypes(o, [ 'ping', 'arping', 'script' ]);
		o.validate = function(section_id, value) {
			var ok = duration(10, 3600000)(section_id, value);
			if (ok !== true || !value)
				return ok;
			var type = this.section.formvalue(section_id, 'type');
			var interval = parseDuration(this.section.formvalue(section_id, 'interval') || '1s');
			if ((type == 'ping' || type == 'arping') && interval != null && parseDuration(value) > interval)
				return _('At most the interval (%s)').format(fmtDuration(interval));
			return true;
		};

		o = s.option(form.Value, 'rise', _('Rise'), _('Successful checks in a row that bring a down tracker up. 1 to 255.'));
		o.datatype = 'and(uinteger,range(1,255))';
		o.placeholder = '3';

		o = s.option(form.Value, 'fall', _('Fall'), _('Failed checks in a row that bring an up tracker down. 1 to 255.'));
		o.datatype = 'and(uinteger,range(1,255))';
		o.placeholder = '3';

		o = s.option(form.Value, 'weight', _('Weight'),
			_('Priority penalty while the tracker is down, 1 to 255, or "fatal": the router may not be active.'));
		o.value('fatal', _('fatal'));
		o.placeholder = '50';
		o.validate = validateWeight;

		o = s.option(form.ListValue, 'wan_only', _('Only on the active router'),
			_('The check only means something on the active router, which alone may send on the WAN. Default: yes for ping and arping, no for the others.'));
		o.value('', _('default'));
		o.value('1', _('yes'));
		o.value('0', _('no'));

		return m.render();
	}
});
