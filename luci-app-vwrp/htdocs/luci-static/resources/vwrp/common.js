'use strict';
'require baseclass';
'require rpc';

/*
 * What the vwrp pages share: the calls to ubus object "vwrp", the names
 * and colours of the roles, one way to write a duration, errors in words
 * a user understands, and the table of which routers use the same key.
 */

var callStatus = rpc.declare({ object: 'vwrp', method: 'status' });
var callGenkey = rpc.declare({ object: 'vwrp', method: 'genkey', params: [ 'id' ] });
var callSessionAccess = rpc.declare({
	object: 'session', method: 'access', params: [ 'scope', 'object', 'function' ], expect: { access: false }
});

var STATES = {
	'init':         [ _('Starting'),     '#777' ],
	'standby':      [ _('Standby'),      '#3a6fb0' ],
	'taking-over':  [ _('Taking over'),  '#c47f00' ],
	'active':       [ _('Active'),       '#2e8b3a' ],
	'handing-over': [ _('Handing over'), '#c47f00' ],
	'fault':        [ _('Fault'),        '#b52a2a' ]
};

/* The first line of an error: LuCI appends the JavaScript stack to the
 * message of a failed call, which is no help to a user. */
function firstLine(err) {
	return String((err && err.message != null) ? err.message : err).split(/\n/)[0];
}

/* A failed call to vwrp's METHOD, in words. Access denied (-32002) is
 * either a login without that right or a session that has ended: rpcd
 * tells which when asked what the session may do. */
function explain(err, method) {
	var line = firstLine(err);
	var m = /failed with error (-?\d+)/.exec(line);
	var code = m ? +m[1] : null;
	if (code == -32002)
		return callSessionAccess('ubus', 'vwrp', method).then(function(allowed) {
			if (allowed)
				return _('The router refused the request. Reload the page and try again.');
			return (method == 'status')
				? _('You are not allowed to view vwrp. Ask the administrator for the luci-app-vwrp permission.')
				: _('You are not allowed to change vwrp: your login may only view it.');
		}, function() {
			return _('Your login session has ended. Reload the page and log in again.');
		});
	if (code == -32000)
		return Promise.resolve(_('The router has no vwrp service on ubus: is the vwrp package installed, and rpcd restarted since?'));
	if (/HTTP error|XHR request|Failed to fetch|NetworkError|aborted|timed? ?out/i.test(line))
		return Promise.resolve(_('The router did not answer. Check the connection and reload the page.'));
	return Promise.resolve(line.replace(/^RPC call to \S+ failed with /, ''));
}

/* A numeric ubus status in place of a reply. */
function statusText(code) {
	switch (code) {
	case 6: return _('You are not allowed to do this.');
	case 7: return _('The vwrp service did not answer in time.');
	case 3: return _('This vwrp version does not know the request: update the vwrp package.');
	default: return _('The request failed: %s').format(rpc.getStatusText(code));
	}
}

return baseclass.extend({
	STATES: STATES,

	/* Calls vwrp METHOD with ARGS; resolves to its reply object or to
	 * {error: TEXT}, never rejects. */
	call: function(method, fn /*, args... */) {
		var args = Array.prototype.slice.call(arguments, 2);
		return fn.apply(null, args).then(function(res) {
			if (typeof(res) == 'number')
				return { error: statusText(res) };
			if (!L.isObject(res))
				return { error: _('The vwrp service answered with something unexpected.') };
			return res;
		}, function(err) {
			return explain(err, method).then(function(text) { return { error: text, denied: /not allowed/.test(text) }; });
		});
	},

	/* The status; rejects on a failed call (the Overview then hides its
	 * box, as for any include the login may not read). */
	status: function() {
		return callStatus();
	},

	statusOrError: function() {
		return this.call('status', callStatus);
	},

	genkey: function(id) {
		return this.call('genkey', callGenkey, id);
	},

	/* As the configuration writes durations (100ms, 1.5s, 2m): 850ms,
	 * 5.2s, 3m 12s, 2h 5m, 3d 4h. The only format on every page. */
	duration: function(ms) {
		if (typeof(ms) != 'number' || !isFinite(ms) || ms < 0)
			return '-';
		if (ms < 1000)
			return '%dms'.format(ms);
		if (ms < 60000)
			return (Math.floor(ms / 100) / 10) + 's';
		var s = Math.floor(ms / 1000);
		if (s < 3600)
			return '%dm %ds'.format(Math.floor(s / 60), s % 60);
		if (s < 86400)
			return '%dh %dm'.format(Math.floor(s / 3600), Math.floor(s / 60) % 60);
		return '%dd %dh'.format(Math.floor(s / 86400), Math.floor(s / 3600) % 24);
	},

	/* A duration as an element the pages and the test can find. */
	dur: function(ms) {
		return E('span', { 'class': 'vwrp-duration' }, [ this.duration(ms) ]);
	},

	ago: function(ms) {
		return E('span', {}, [ this.dur(ms), ' ', _('ago') ]);
	},

	badge: function(state, id) {
		var s = STATES[state] || [ state || '?', '#777' ];
		return E('span', {
			'id': id,
			'class': 'vwrp-state',
			'data-state': state,
			'style': 'color:#fff;background:' + s[1] + ';padding:.1em .6em;border-radius:.3em;font-weight:bold;white-space:nowrap'
		}, [ s[0] ]);
	},

	/* The control links of group G that carry no hellos (status'
	 * control_links), in words, as `vwrp status` lists them, under
	 * TITLE, as element ID; null when every one is up. A link tied to
	 * the WAN device is an error the daemon logs as one. The status page
	 * and the Overview show the same. */
	controlLinks: function(g, id, title) {
		var down = (Array.isArray(g.control_links) ? g.control_links : []).filter(function(c) {
			return c.state != 'up';
		});
		if (!down.length)
			return null;
		var tied = down.some(function(c) { return c.state == 'tied'; });
		return E('div', { 'class': 'alert-message ' + (tied ? 'error' : 'warning'), 'id': id }, [
			E('strong', [ title ]),
			E('ul', down.map(function(c) {
				var what;
				if (c.state == 'tied')
					what = _('Tied to the WAN device: %s. Nothing is sent on %s, since hellos sent there would leave by the WAN; undo the tie, e.g. take the WAN port out of the bridge.')
						.format(c.tie != null ? c.tie : c.device, c.device);
				else if (c.state == 'down')
					what = _('%s has no carrier.').format(c.device);
				else if (c.state == 'missing')
					what = _('%s does not exist; it is used as soon as it appears.').format(c.device);
				else
					what = '%s: %s'.format(c.device, c.state);
				return E('li', { 'data-device': c.device, 'data-state': c.state }, [ what ]);
			})),
			_('The other routers of the group do not hear this router on such a link, and no handover goes over it.')
		]);
	},

	/* Every router of group G this one hears, and whether it uses the
	 * same key: the accepted peers and the ones refused for their key. */
	keyTable: function(g) {
		var mine = Array.isArray(g.key_ids) ? g.key_ids : [];
		var rows = [];
		var self = this;
		(Array.isArray(g.peers) ? g.peers : []).forEach(function(p) {
			var verdict;
			if (p.key_id == null)
				verdict = _('Same as this router: no key. Anyone on the LAN could take the WAN over; set a key.');
			else if (p.key_id == mine[0])
				verdict = _('Same key as this router (key %d).').format(p.key_id);
			else
				verdict = _('Accepted: it signs with key %d, this router\'s second key. Finish the rotation on every router.').format(p.key_id);
			rows.push([ String(p.router_id), p.key_id == null ? _('none') : String(p.key_id),
				E('strong', { 'style': 'color:#2e8b3a' }, [ _('yes') ]), verdict, self.ago(p.last_heard_ms) ]);
		});
		(Array.isArray(g.refused) ? g.refused : []).forEach(function(r) {
			var verdict = {
				'unknown_key': _('Refused: it signs with key %d, which this router does not have.').format(r.key_id),
				'bad_signature': _('Refused: its key %d has another secret than this router\'s.').format(r.key_id),
				'unsigned': _('Refused: it sends hellos without a key, and this router has one.')
			}[r.reason] || String(r.reason);
			rows.push([ String(r.router_id), r.key_id == null ? _('none') : String(r.key_id),
				E('strong', { 'style': 'color:#b52a2a' }, [ _('no') ]), verdict, self.ago(r.last_heard_ms) ]);
		});
		var titles = [ _('Router ID'), _('Its key'), _('Same key'), _('What this router makes of it'), _('Last heard') ];
		var table = E('table', { 'class': 'table', 'id': 'vwrp-keys-' + g.name }, [
			E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) { return E('th', { 'class': 'th' }, [ t ]); }))
		]);
		rows.forEach(function(cells, i) {
			table.appendChild(E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2) }, cells.map(function(c, j) {
				return E('td', { 'class': 'td', 'data-title': titles[j] }, [ c ]);
			})));
		});
		if (!rows.length)
			table.appendChild(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td' }, [ E('em', [ _('No other router of this group is heard.') ]) ])
			]));
		return table;
	}
});
