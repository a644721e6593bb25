'use strict';
'require baseclass';
'require vwrp.common as common';

/*
 * vwrp on Status › Overview: per group, this router's role, the shared
 * WAN address, how many routers of the group it hears, and the last
 * change; below it, as on the status page, the control links that carry
 * no hellos. A login without the luci-app-vwrp permission does not see
 * it: the status call fails and the Overview leaves the box out.
 */

return baseclass.extend({
	title: _('WAN Redundancy'),

	load: function() {
		return common.status();
	},

	render: function(status) {
		if (!L.isObject(status) || status.error != null || !Array.isArray(status.groups))
			return E('p', { 'id': 'vwrp-overview-error' }, [
				E('em', [ _('The vwrp daemon is not running or does not answer.') ]), ' ',
				E('a', { 'href': L.url('admin/status/vwrp') }, [ _('Details') ])
			]);

		var titles = [ _('Group'), _('Role'), _('WAN address'), _('Routers heard'), _('Last change') ];
		var table = E('table', { 'class': 'table', 'id': 'vwrp-overview' }, [
			E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) { return E('th', { 'class': 'th' }, [ t ]); }))
		]);
		status.groups.forEach(function(g, i) {
			var peers = (Array.isArray(g.peers) ? g.peers : []).filter(function(p) { return p.alive; }).length;
			var refused = Array.isArray(g.refused) ? g.refused.length : 0;
			var heard = [ String(peers) ];
			if (refused)
				heard.push(' ', E('strong', { 'style': 'color:#b52a2a' }, [ _('(%d with another key)').format(refused) ]));
			var cells = [
				E('a', { 'href': L.url('admin/status/vwrp') }, [ String(g.name) ]),
				common.badge(g.state, 'vwrp-overview-role-' + g.name),
				L.isObject(g.lease) ? '%s/%d'.format(g.lease.address, g.lease.prefix_len) : E('em', [ _('no lease yet') ]),
				E('span', {}, heard),
				E('span', {}, [ common.ago(g.since_ms), ': ', String(g.reason || '-') ])
			];
			table.appendChild(E('tr', { 'class': 'tr cbi-rowstyle-' + (1 + i % 2), 'id': 'vwrp-overview-' + g.name },
				cells.map(function(c, j) { return E('td', { 'class': 'td', 'data-title': titles[j] }, [ c ]); })));
		});
		if (!status.groups.length)
			table.appendChild(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td' }, [ E('em', [ _('No group is enabled.') ]) ])
			]));
		var notices = status.groups.map(function(g) {
			return common.controlLinks(g, 'vwrp-overview-control-links-' + g.name,
				_('Group %s: control links that carry no hellos:').format(g.name));
		}).filter(function(n) { return n != null; });
		return E('div', [ table ].concat(notices));
	}
});
