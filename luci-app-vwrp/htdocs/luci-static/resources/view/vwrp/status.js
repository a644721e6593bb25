'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require ui';
'require vwrp.common as common';

/*
 * Status of vwrp: this router's role in each redundancy group, its peers,
 * the shared DHCP lease, trackers, counters and recent transitions, with
 * Step up / Step down. Everything comes from ubus object "vwrp" (the rpcd
 * exec plugin /usr/libexec/rpcd/vwrp, which asks the daemon over its
 * control socket; docs/CONTROL.md has the reply's shape). A login that
 * may only read vwrp sees the actions disabled.
 */

var callStepUp = rpc.declare({ object: 'vwrp', method: 'step_up', params: [ 'group' ] });
var callStepDown = rpc.declare({ object: 'vwrp', method: 'step_down', params: [ 'group' ] });
var callSetPriority = rpc.declare({ object: 'vwrp', method: 'set_priority', params: [ 'priority', 'group' ] });

/* A handover takes well under a second; a short interval shows it. */
var POLL_SECONDS = 2;

var COUNTERS = [
	[ 'tx',                 _('Hellos sent') ],
	[ 'rx_ok',              _('Hellos received') ],
	[ 'tx_errors',          _('Send errors') ],
	[ 'transitions',        _('Role changes') ],
	[ 'takeovers',          _('Takeovers') ],
	[ 'handovers',          _('Graceful handovers') ],
	[ 'handovers_aborted',  _('Handovers aborted') ],
	[ 'prepare_timeouts',   _('Prepare timeouts') ],
	[ 'stalls',             _('Event loop stalls') ],
	[ 'rx_unauthenticated', _('Refused: unauthenticated') ],
	[ 'rx_bad_key',         _('Refused: unknown key') ],
	[ 'rx_bad_tag',         _('Refused: bad signature') ],
	[ 'rx_replayed',        _('Refused: replayed') ],
	[ 'rx_malformed',       _('Refused: malformed') ],
	[ 'rx_truncated',       _('Refused: truncated') ],
	[ 'rx_bad_version',     _('Refused: other version') ],
	[ 'rx_path_mismatch',   _('Refused: wrong path') ],
	[ 'rx_peer_limit',      _('Refused: too many peers') ],
	[ 'rx_claim_bounded',   _('Peer timers cut to ours') ],
	[ 'rx_other',           _('Other groups') ],
	[ 'rx_own',             _('Own hellos heard back') ]
];

var STEP_UP = {
	'pending': _('waiting: %s'),
	'done':    _('done: %s'),
	'failed':  _('did not take effect: %s')
};

function yesNo(b) {
	return b ? _('yes') : _('no');
}

/* controlN is the N-th control interface of the group. */
function pathName(g, path) {
	var m = /^control(\d+)$/.exec(path);
	var control = Array.isArray(g.control) ? g.control : [];
	if (m && control[+m[1]] != null)
		return control[+m[1]];
	return path;
}

function kvTable(rows) {
	return E('table', { 'class': 'table' }, rows.map(function(r) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'width': '33%' }, [ r[0] ]),
			E('td', { 'class': 'td left' }, Array.isArray(r[1]) ? r[1] : [ r[1] ])
		]);
	}));
}

function gridTable(id, titles, rows, empty) {
	var table = E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) {
			return E('th', { 'class': 'th' }, [ t ]);
		}))
	]);
	rows.forEach(function(cells, i) {
		table.appendChild(E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2) }, cells.map(function(c, j) {
			return E('td', { 'class': 'td', 'data-title': titles[j] }, Array.isArray(c) ? c : [ c ]);
		})));
	});
	if (!rows.length)
		table.appendChild(E('tr', { 'class': 'tr placeholder' }, [
			E('td', { 'class': 'td' }, [ E('em', [ empty ]) ])
		]));
	return table;
}

function priorityText(g) {
	var text = _('%d effective / %d configured').format(g.effective_priority, g.configured_priority);
	if (g.priority != null && g.priority != g.configured_priority)
		text += ' ' + _('(run-time priority %d)').format(g.priority);
	return text;
}

function renderSummary(g) {
	var rows = [
		[ _('Role'), [ common.badge(g.state, 'vwrp-role-' + g.name), ' ', _('for'), ' ', common.dur(g.since_ms) ] ],
		[ _('Reason of the last change'), String(g.reason || '-') ],
		[ _('This router'), String(g.router_id) ],
		[ _('Priority'), priorityText(g) ],
		[ _('Preemption'), yesNo(g.preempt) ],
		[ _('WAN device'), '%s: %s'.format(g.wan_device, g.wan_open ? _('open (forwarding)') : _('fenced')) ],
		[ _('Control interfaces'), (Array.isArray(g.control) ? g.control : []).join(', ') ],
		[ _('Hellos authenticated'), g.authenticated ? _('yes') : E('strong', [ _('no: set a key in the settings') ]) ]
	];
	if (g.hold_left_ms > 0)
		rows.push([ _('Anti-flap hold'), [ common.dur(g.hold_left_ms), ' ', _('left') ] ]);
	if (L.isObject(g.step_up))
		rows.push([ _('Last step up'), E('span', { 'id': 'vwrp-last-step-up-' + g.name }, [
			(STEP_UP[g.step_up.state] || '%s').format(g.step_up.reason), ' (', common.ago(g.step_up.ago_ms), ')'
		]) ]);
	/* Problems above everything else, as the log and `vwrp status` say
	 * them: an unkeyed group is open to anyone on its control links. */
	return E('div', [
		g.authenticated ? E([]) : E('div', { 'class': 'alert-message warning', 'id': 'vwrp-no-key-' + g.name }, [
			E('strong', [ _('This group has no key.') ]), ' ',
			_('Hellos are not authenticated, so anyone on the control links can take the WAN. Generate a key in the settings (Security) and give every router of the group the same one.')
		]),
		common.controlLinks(g, 'vwrp-control-links-' + g.name, _('Control links that carry no hellos:')) || E([]),
		kvTable(rows)
	]);
}

function renderPeers(g) {
	var peers = Array.isArray(g.peers) ? g.peers : [];
	return gridTable('vwrp-peers-' + g.name,
		[ _('Router ID'), _('State'), _('Priority'), _('Last heard'), _('Path'), _('Key') ],
		peers.map(function(p) {
			var prio = (p.effective_priority != p.priority)
				? _('%d (configured %d)').format(p.effective_priority, p.priority) : String(p.priority);
			return [
				String(p.router_id),
				common.badge(p.state),
				prio,
				p.alive ? common.ago(p.last_heard_ms) : E('strong', [ _('lost'), ' (', common.ago(p.last_heard_ms), ')' ]),
				(Array.isArray(p.paths) ? p.paths : []).map(function(x) { return pathName(g, x); }).join(', ') || '-',
				p.key_id == null ? _('none') : String(p.key_id)
			];
		}),
		_('No other router of this group is heard.'));
}

function renderLease(g) {
	var l = g.lease;
	if (!L.isObject(l))
		return E('p', { 'id': 'vwrp-lease-' + g.name }, [ E('em', [ _('No DHCP lease yet.') ]) ]);
	var left = l.valid ? common.dur(Math.max(0, l.seconds_left || 0) * 1000) : _('expired');
	var t = kvTable([
		[ _('Address'), '%s/%d'.format(l.address, l.prefix_len) ],
		[ _('Gateway'), String(l.gateway || '-') ],
		[ _('DNS servers'), (Array.isArray(l.dns) ? l.dns : []).join(', ') || '-' ],
		[ _('DHCP server'), String(l.server_id || '-') ],
		[ _('Time left'), [ left, ' ', _('of'), ' ', common.dur((l.lease_time || 0) * 1000) ] ]
	]);
	t.setAttribute('id', 'vwrp-lease-' + g.name);
	return t;
}

function renderLease6(g) {
	var l = g.lease6;
	if (!L.isObject(l))
		return E([]);
	var ia = function(list) {
		var items = (Array.isArray(list) ? list : []).map(function(a) {
			return E('div', [ '%s/%d'.format(a.address, a.prefix_len), ' (', _('valid'), ' ', common.dur((a.valid_left || 0) * 1000), ')' ]);
		});
		return items.length ? items : '-';
	};
	return E('div', [
		E('h4', [ _('DHCPv6') ]),
		kvTable([
			[ _('Addresses'), ia(l.addresses) ],
			[ _('Delegated prefixes'), ia(l.prefixes) ],
			[ _('Gateway'), String(l.gateway || '-') ],
			[ _('DNS servers'), (Array.isArray(l.dns) ? l.dns : []).join(', ') || '-' ]
		])
	]);
}

/* conntrackd and the last commit, with conntrack_sync (docs/NATSYNC.md). */
function renderConntrack(g) {
	var c = g.conntrack;
	if (!L.isObject(c))
		return E([]);
	var n = function(v) { return v == null ? '-' : String(v); };
	var state = (c.state == 'ok') ? _('running, answering')
		: E('strong', [ String(c.state), c.error ? ': ' + c.error : '' ]);
	var rows = [
		[ _('conntrackd'), state ],
		[ _('Sync link'), String(c.device) ],
		[ _('Own connections'), n(c.internal) ],
		[ _('Connections held for a takeover'), n(c.external) ]
	];
	var m = c.commit;
	if (L.isObject(m))
		rows.push([ _('Last commit'), [
			(m.result == 'ok') ? _('done') : E('strong', [ String(m.result), m.error ? ': ' + m.error : '' ]),
			m.took_ms != null ? ' ' + _('in %d ms').format(m.took_ms) : '', ' (', common.ago(m.ago_ms), ')'
		] ]);
	var t = kvTable(rows);
	t.setAttribute('id', 'vwrp-conntrack-' + g.name);
	return E('div', [ E('h4', [ _('Connection tracking sync') ]), t ]);
}

function renderTrackers(g) {
	var trackers = Array.isArray(g.trackers) ? g.trackers : [];
	return gridTable('vwrp-trackers-' + g.name,
		[ _('Tracker'), _('State'), _('While down'), _('Only on the active') ],
		trackers.map(function(t) {
			var up = t.state == 'up';
			return [
				String(t.name),
				E('span', { 'style': 'font-weight:bold;color:' + (up ? '#2e8b3a' : (t.state == 'down' ? '#b52a2a' : '#777')) }, [ String(t.state) ]),
				t.weight == 'fatal' ? _('may not be active') : _('priority -%s').format(t.weight),
				yesNo(t.wan_only)
			];
		}),
		_('No trackers configured.'));
}

function renderCounters(g) {
	var c = L.isObject(g.counters) ? g.counters : {};
	var known = {};
	var cells = [];
	COUNTERS.forEach(function(k) {
		known[k[0]] = true;
		if (c[k[0]] != null)
			cells.push([ k[1], c[k[0]] ]);
	});
	Object.keys(c).forEach(function(k) {
		if (!known[k])
			cells.push([ k, c[k] ]);
	});
	var rows = [];
	for (var i = 0; i < cells.length; i += 2) {
		var right = cells[i + 1] || [ '', '' ];
		rows.push(E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left' }, [ cells[i][0] ]),
			E('td', { 'class': 'td right' }, [ String(cells[i][1]) ]),
			E('td', { 'class': 'td left' }, [ right[0] ]),
			E('td', { 'class': 'td right' }, [ String(right[1]) ])
		]));
	}
	return E('table', { 'class': 'table', 'id': 'vwrp-counters-' + g.name }, rows);
}

function renderTransitions(g) {
	var list = Array.isArray(g.transitions) ? g.transitions : [];
	return gridTable('vwrp-transitions-' + g.name,
		[ _('When'), _('From'), _('To'), _('Reason') ],
		list.map(function(t) {
			return [ common.ago(t.ago_ms), common.badge(t.from), common.badge(t.to), String(t.reason || '') ];
		}),
		_('No role changes yet.'));
}

function renderDetails(g) {
	var keys = E('div');
	if (Array.isArray(g.refused) && g.refused.length)
		dom.append(keys, [
			E('h4', [ _('Keys of the routers heard') ]),
			E('p', [ _('Hellos signed with another key are refused: this router does not count those routers. Give every router of the group the same key (Services › WAN Redundancy, Security).') ]),
			common.keyTable(g)
		]);
	return E('div', [
		E('h4', [ _('Peers') ]), renderPeers(g),
		keys,
		E('h4', [ _('Shared DHCP lease') ]), renderLease(g),
		renderLease6(g),
		renderConntrack(g),
		E('h4', [ _('Trackers') ]), renderTrackers(g),
		E('h4', [ _('Recent role changes') ]), renderTransitions(g),
		E('h4', [ _('Counters') ]), renderCounters(g)
	]);
}

return view.extend({
	load: function() {
		return common.statusOrError();
	},

	render: function(status) {
		/* luci.js: false when the login may only read this page. */
		this.writable = (L.hasViewPermission() !== false);
		this.root = E('div', { 'id': 'vwrp-status' });
		this.groups = null;
		this.watch = {};
		this.update(status);
		poll.add(L.bind(this.refresh, this), POLL_SECONDS);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('WAN Redundancy') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Routers of a group share one WAN MAC address and one DHCP lease. Exactly one of them, the active router, uses the WAN; the others stand by and take over when it fails.')
			]),
			this.root
		]);
	},

	refresh: function() {
		return common.statusOrError().then(L.bind(this.update, this));
	},

	update: function(status) {
		var groups = Array.isArray(status.groups) ? status.groups : null;

		if (status.error != null || !groups) {
			this.groups = null;
			dom.content(this.root, E('div', { 'class': 'alert-message warning', 'id': 'vwrp-error' }, status.denied ? [
				E('p', [ String(status.error) ])
			] : [
				E('h4', [ _('The vwrp daemon is not running or does not answer.') ]),
				E('p', [ String(status.error != null ? status.error : _('The reply holds no groups.')) ]),
				E('p', [ _('Check that at least one group is enabled in the settings and that the service runs (System > Startup); the system log says why it stopped.') ])
			]));
			return;
		}

		var names = groups.map(function(g) { return g.name; }).join('\n');
		if (!this.groups || this.groupNames != names)
			this.build(groups, names);

		groups.forEach(L.bind(function(g) {
			var parts = this.groups[g.name];
			dom.content(parts.summary, renderSummary(g));
			dom.content(parts.details, renderDetails(g));
			parts.stepUp.disabled = !this.writable || (g.state == 'active');
			this.reportStepUp(g);
		}, this));
	},

	/* After a confirmed Step up, says how it ended, with the daemon's
	 * reason: the request is answered at once, the handover follows. */
	reportStepUp: function(g) {
		var since = this.watch[g.name];
		var s = g.step_up;
		if (since == null || !L.isObject(s) || s.state == 'pending' || s.ago_ms > Date.now() - since + 1000)
			return;
		delete this.watch[g.name];
		var done = (s.state == 'done');
		ui.addNotification(null, E('p', { 'id': 'vwrp-step-up-note-' + g.name }, [
			done ? _('Step up in group %s: this router is now the active router (%s).').format(g.name, s.reason)
			     : _('Step up in group %s did not take effect: %s.').format(g.name, s.reason)
		]), done ? 'info' : 'warning');
	},

	/* The buttons and the priority field are built once per group, so a
	 * refresh never takes away what the user is typing. */
	build: function(groups, names) {
		this.groups = {};
		this.groupNames = names;
		dom.content(this.root, null);

		if (!groups.length)
			dom.append(this.root, E('p', { 'id': 'vwrp-error' }, [ E('em', [ _('No group is enabled in the settings.') ]) ]));

		var ro = this.writable ? null : true;
		var why = this.writable ? null : _('You are not allowed to change vwrp: your login may only view it.');
		groups.forEach(L.bind(function(g) {
			var prio = E('input', {
				'type': 'number', 'min': '1', 'max': '254', 'class': 'cbi-input-text', 'disabled': ro,
				'id': 'vwrp-priority-' + g.name, 'style': 'width:6em;min-width:0', 'value': String(g.priority)
			});
			var parts = {
				summary: E('div'),
				details: E('div'),
				stepUp: E('button', {
					'class': 'cbi-button cbi-button-apply', 'title': why,
					'id': 'vwrp-step-up-' + g.name,
					'click': ui.createHandlerFn(this, 'handleStep', g.name, 'up')
				}, [ _('Step up') ]),
				stepDown: E('button', {
					'class': 'cbi-button cbi-button-negative', 'disabled': ro, 'title': why,
					'id': 'vwrp-step-down-' + g.name,
					'click': ui.createHandlerFn(this, 'handleStep', g.name, 'down')
				}, [ _('Step down') ])
			};
			this.groups[g.name] = parts;

			dom.append(this.root, E('div', { 'class': 'cbi-section', 'id': 'vwrp-group-' + g.name }, [
				E('h3', [ _('Group %s').format(g.name) ]),
				parts.summary,
				E('div', { 'class': 'cbi-section-actions', 'style': 'margin:.5em 0 1em' }, [
					parts.stepUp, ' ', parts.stepDown, ' \u00a0 ',
					E('label', { 'for': 'vwrp-priority-' + g.name }, [ _('Run-time priority') ]), ' ', prio, ' ',
					E('button', {
						'class': 'cbi-button cbi-button-action', 'disabled': ro, 'title': why,
						'id': 'vwrp-set-priority-' + g.name,
						'click': ui.createHandlerFn(this, 'handleSetPriority', g.name, prio)
					}, [ _('Set') ]),
					this.writable ? E([]) : E('div', { 'class': 'cbi-value-description', 'id': 'vwrp-readonly-' + g.name }, [ why ])
				]),
				parts.details
			]));
		}, this));
	},

	handleStep: function(group, dir) {
		var up = (dir == 'up');
		ui.showModal(up ? _('Step up?') : _('Step down?'), [
			E('p', [ up
				? _('This router asks the active router of group %s for the WAN. The active router hands it over gracefully; clients keep their connections.').format(group)
				: _('This router hands the WAN of group %s to the best standby router, and stops taking it back on its own until you step up again.').format(group) ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn cbi-button', 'click': ui.hideModal }, [ _('Cancel') ]), ' ',
				E('button', {
					'class': 'btn cbi-button ' + (up ? 'cbi-button-apply' : 'cbi-button-negative'),
					'id': 'vwrp-confirm',
					'click': ui.createHandlerFn(this, 'doStep', group, dir)
				}, [ up ? _('Step up') : _('Step down') ])
			])
		]);
	},

	doStep: function(group, dir) {
		var up = (dir == 'up');
		var asked = Date.now();
		return common.call(up ? 'step_up' : 'step_down', up ? callStepUp : callStepDown, group).then(L.bind(function(res) {
			ui.hideModal();
			if (res.error != null)
				ui.addNotification(null, E('p', { 'class': 'vwrp-note' }, [
					(up ? _('Could not step up: %s') : _('Could not step down: %s')).format(String(res.error))
				]), 'error');
			else if (up)
				this.watch[group] = asked;
			return this.refresh();
		}, this));
	},

	handleSetPriority: function(group, input) {
		var v = input.value.trim();
		if (!/^\d+$/.test(v) || +v < 1 || +v > 254) {
			ui.addNotification(null, E('p', [ _('The priority must be a whole number from 1 to 254.') ]), 'error');
			return;
		}
		return common.call('set_priority', callSetPriority, +v, group).then(L.bind(function(res) {
			if (res.error != null)
				ui.addNotification(null, E('p', { 'class': 'vwrp-note' }, [ _('Could not set the priority: %s').format(String(res.error)) ]), 'error');
			else
				ui.addNotification(null, E('p', [ _('Run-time priority of group %s set to %d. It lasts until the daemon restarts; the settings keep the configured one.').format(group, +v) ]), 'info');
			return this.refresh();
		}, this));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
