'use strict';
'require view';
'require dom';
'require poll';
'require fs';

/*
 * STAND-IN for luci-mod-status' view/status/index.js (Status › Overview),
 * for the browser test only; never installed. It treats the includes of
 * other packages as the real page does: it lists
 * /www/luci-static/resources/view/status/include through rpcd's file
 * object, requires every *.js there in name order, gives each a section
 * headed by its `title`, and calls load() then render(result) at once and
 * on every poll. An include whose load() rejects is hidden for good; one
 * whose render() returns null stays hidden until it returns content. The
 * real page's own boxes (system, memory, network, ...) are left out.
 */

var INCLUDES = '/www' + L.resource('view/status/include');

function refresh(includes, boxes) {
	return Promise.all(includes.map(function(inc) {
		if (inc.failed || typeof(inc.load) != 'function')
			return null;
		return inc.load().catch(function() { inc.failed = true; });
	})).then(function(results) {
		includes.forEach(function(inc, i) {
			if (inc.failed)
				return;
			var content = (typeof(inc.render) == 'function') ? inc.render(results[i]) : inc.content;
			if (content == null)
				return;
			boxes[i].parentNode.style.display = '';
			dom.content(boxes[i], content);
		});
	});
}

return view.extend({
	load: function() {
		return L.resolveDefault(fs.list(INCLUDES), []).then(function(entries) {
			var names = entries.filter(function(e) { return e.type == 'file' && /\.js$/.test(e.name); })
				.map(function(e) { return 'view.status.include.' + e.name.replace(/\.js$/, ''); }).sort();
			return Promise.all(names.map(function(n) { return L.require(n); }));
		});
	},

	render: function(includes) {
		var boxes = [], page = E('div', { 'id': 'status-overview' });
		includes.forEach(function(inc) {
			var box = E('div');
			page.appendChild(E('div', { 'class': 'cbi-section', 'style': 'display:none' }, [
				inc.title ? E('h3', [ inc.title ]) : E([]), box
			]));
			boxes.push(box);
		});
		return refresh(includes, boxes).then(function() {
			poll.add(function() { return refresh(includes, boxes); });
			return page;
		});
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
