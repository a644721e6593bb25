// The browser half of tests/luci.rs: Debian's chromium, headless, driven
// by playwright-core, against tests/luci/harness.py (the app's real views
// on a LuCI stand-in, ubus calls answered by the real rpcd plugin and the
// real daemon). It checks what a user sees, and prints one line per step.
//
// Environment (set by tests/luci.rs):
//   LUCI_URL      http://127.0.0.1:PORT of router 1's harness
//   LUCI_URL_R3   http://127.0.0.2:PORT of router 3's (it signs with a key
//                 routers 1 and 2 lack)
//   LUCI_URL_R4   http://127.0.0.3:PORT of router 4's, alone and without
//                 a key
//   SHOT_DIR      where the screenshots go
//   LEASE_ADDR    the address the active router leased
//   UCI_FILE      the harness's /etc/config/vwrp
//   VWRP_BIN      the vwrp binary, for `vwrp check-config`
//   SCHEMA        JSON {globals: [...], group: [...], tracker: [...]}: the
//                 options of docs/CONFIG.md
// Protocol: it prints "STOP-DAEMON" and waits for a line on stdin once
// the daemon has been stopped; "R4-IP ARGS" and waits for a line once
// `ip ARGS` ran in router 4's network namespace.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const env = (k) => {
	if (!process.env[k]) throw new Error(`${k} is not set`);
	return process.env[k];
};
let base = env('LUCI_URL');
const shots = env('SHOT_DIR');
const schema = JSON.parse(env('SCHEMA'));

const stdin = readline.createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();

function step(what) {
	console.log(`ok - ${what}`);
}

function check(cond, what) {
	if (!cond) throw new Error(`FAILED: ${what}`);
}

const id = (s) => `[id="${s}"]`;

async function textOf(page, sel) {
	return (await page.locator(sel).first().innerText({ timeout: 10000 })) || '';
}

/* Waits until the element's text satisfies pred (the page polls every 2 s). */
async function waitText(page, sel, pred, what, timeout = 15000) {
	const end = Date.now() + timeout;
	let last = '';
	while (Date.now() < end) {
		last = await page.locator(sel).first().innerText({ timeout: 1000 }).catch(() => '') || '';
		if (pred(last)) return last;
		await page.waitForTimeout(200);
	}
	throw new Error(`FAILED: ${what}: "${sel}" shows "${last.trim()}"`);
}

/* Waits until no element matches sel (the page polls every 2 s). */
async function waitGone(page, sel, what, timeout = 15000) {
	const end = Date.now() + timeout;
	while (await page.locator(sel).count() != 0) {
		if (Date.now() > end)
			throw new Error(`FAILED: ${what}: "${sel}" shows "${(await textOf(page, sel)).trim()}"`);
		await page.waitForTimeout(200);
	}
}

/* Has the test run `ip ARGS` in router 4's network namespace. */
async function r4ip(args) {
	console.log(`R4-IP ${args}`);
	const ack = await lines.next();
	check(!ack.done && ack.value == 'done', `the test ran ip ${args} in router 4's namespace`);
}

async function openView(page, menuPath) {
	await page.goto(`${base}/cgi-bin/luci/${menuPath}`);
	await page.waitForSelector('body[data-view-ready]', { timeout: 15000 });
	const errors = await page.evaluate(() => window.__luciErrors || []);
	check(errors.length == 0, `no runtime errors on ${menuPath}: ${errors.join('\n')}`);
}

/* LuCI's login form, as a user fills it in. */
async function login(page, url, user, password) {
	base = url;
	await page.context().clearCookies();
	await page.goto(`${base}/cgi-bin/luci/admin/status/vwrp`);
	await page.fill('#luci_username', user);
	await page.fill('#luci_password', password);
	await Promise.all([ page.waitForNavigation(), page.click('#luci_login') ]);
	await page.waitForSelector('body[data-view-ready]', { timeout: 15000 });
}

/* Every duration on the page is written one way: 850ms, 5.2s, 3m 12s,
 * 2h 5m, 3d 4h (the configuration's units); none as 0h 5m 12s or 5.2 s. */
async function checkDurations(page, where) {
	const texts = await page.$$eval('.vwrp-duration', (els) => els.map((e) => e.textContent));
	check(texts.length > 0, `${where}: durations are marked`);
	const bad = texts.filter((t) => !/^(\d+ms|\d+(\.\d)?s|\d+m \d+s|\d+h \d+m|\d+d \d+h)$/.test(t));
	check(bad.length == 0, `${where}: durations in one format: ${bad.join(' | ')}`);
	// Nor the formats the page used before ("0h 9m 56s", "5.2 s"); the
	// daemon's own reasons may say "N ms", they are its words.
	const other = /\b\d+h \d+m \d+s\b|\d\.\d s\b/.exec(await page.innerText('#view'));
	check(!other, `${where}: no other duration format in the page text: ${other}`);
	return texts.length;
}

/* No dropdown cuts its text: each choice fits the width the theme gives. */
async function checkSelectsFit(page) {
	const cut = await page.$$eval('select:not([multiple])', (sels) => {
		const ctx = document.createElement('canvas').getContext('2d');
		const out = [];
		for (const s of sels) {
			if (!s.offsetParent)
				continue;
			const cs = getComputedStyle(s);
			ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
			// Padding, border and the arrow of a native select.
			const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
			for (const o of s.options)
				if (ctx.measureText(o.text).width > room)
					out.push(`${s.id}: "${o.text}"`);
		}
		return out;
	});
	check(cut.length == 0, `no dropdown cuts its text: ${cut.join(', ')}`);
}

async function confirmStep(page, dir) {
	await page.click(id(`vwrp-step-${dir}-wan`));
	await page.waitForSelector('#modal_overlay .modal', { state: 'visible' });
	await page.click(id('vwrp-confirm'));
	await page.waitForSelector('#modal_overlay', { state: 'hidden' });
}

async function statusPage(page) {
	await openView(page, 'admin/status/vwrp');
	const role = id('vwrp-role-wan');
	await waitText(page, role, (t) => t.trim() == 'Active', 'the active router shows its role');
	const summary = await textOf(page, id('vwrp-group-wan'));
	check(/Reason of the last change/.test(summary), 'the reason of the last change is shown');
	check(/200 effective \/ 200 configured/.test(summary), `priorities shown: ${summary}`);
	step('role Active with reason and priority');

	const peers = await textOf(page, id('vwrp-peers-wan'));
	check(peers.includes('0x2') && peers.includes('Standby') && peers.includes('150'), `peer 0x2 standby, priority 150: ${peers}`);
	check(/ago/.test(peers) && /\blan\b/.test(peers), `last heard and path (control0 = lan): ${peers}`);
	check(!peers.includes('0x3'), `router 3, signing with another key, is no peer: ${peers}`);
	check(await page.locator(id('vwrp-no-key-wan')).count() == 0, 'a group with a key gets no warning about keys');
	check(await page.locator(id('vwrp-control-links-wan')).count() == 0, 'a group whose control links are all up gets no notice about them');
	const keys = await textOf(page, id('vwrp-keys-wan'));
	check(/0x3\s+3\s+no\s+Refused: it signs with key 3, which this router does not have/.test(keys), `router 3 listed with its key: ${keys}`);
	step('peers table: 0x2 Standby; 0x3 refused for its key 3');
	check(await page.locator(id('vwrp-readonly-wan')).count() == 0, 'a login that may change vwrp gets no read-only note');
	for (const b of [ 'vwrp-step-down-wan', 'vwrp-set-priority-wan', 'vwrp-priority-wan' ])
		check(await page.locator(id(b)).isEnabled(), `${b} is enabled for root`);

	const lease = await textOf(page, id('vwrp-lease-wan'));
	check(lease.includes(env('LEASE_ADDR')) && /Time left/.test(lease), `lease shown: ${lease}`);
	const trackers = await textOf(page, id('vwrp-trackers-wan'));
	check(trackers.includes('lan_link'), `tracker shown: ${trackers}`);
	const counters = await textOf(page, id('vwrp-counters-wan'));
	check(/Hellos sent/.test(counters) && /Hellos received/.test(counters), `counters shown: ${counters}`);
	step('lease, trackers and counters');

	const n = await checkDurations(page, 'status page');
	step(`${n} durations, all in one format`);

	await page.screenshot({ path: path.join(shots, 'luci-status.png'), fullPage: true });
	step(`screenshot ${path.join(shots, 'luci-status.png')}`);

	// Cancel leaves everything as it is.
	await page.click(id('vwrp-step-down-wan'));
	await page.waitForSelector('#modal_overlay .modal', { state: 'visible' });
	check((await textOf(page, '#modal_overlay .modal')).includes('Step down?'), 'the step down confirmation asks');
	await page.click('#modal_overlay button:has-text("Cancel")');
	await page.waitForSelector('#modal_overlay', { state: 'hidden' });
	await page.waitForTimeout(2500);
	check((await textOf(page, role)).trim() == 'Active', 'Cancel does not step down');
	step('Step down, Cancel: still Active');

	await confirmStep(page, 'down');
	await waitText(page, role, (t) => t.trim() == 'Standby', 'Step down makes this router standby');
	await waitText(page, id('vwrp-peers-wan'), (t) => t.includes('0x2') && t.includes('Active'), 'the peer is active after step down');
	await waitText(page, id('vwrp-transitions-wan'), (t) => t.includes('Standby'), 'the transition is listed');
	step('Step down, confirmed: Standby, peer 0x2 Active');

	await confirmStep(page, 'up');
	await waitText(page, role, (t) => t.trim() == 'Active', 'Step up makes this router active again');
	await waitText(page, id('vwrp-step-up-note-wan'), (t) => t.includes('now the active router'), 'the page says the step up worked');
	await waitText(page, id('vwrp-last-step-up-wan'), (t) => /^done: .*0x2/.test(t), 'the last step up is shown with its reason');
	step('Step up, confirmed: Active, and the page says so');

	await page.fill(id('vwrp-priority-wan'), '120');
	await page.click(id('vwrp-set-priority-wan'));
	await waitText(page, id('vwrp-group-wan'), (t) => t.includes('run-time priority 120'), 'the run-time priority is shown');
	step('run-time priority 120');

}

async function stoppedDaemon(page) {
	await openView(page, 'admin/status/vwrp');
	await waitText(page, id('vwrp-role-wan'), (t) => t.trim() == 'Active', 'router 1 is active before it stops');
	console.log('STOP-DAEMON');
	const ack = await lines.next();
	check(!ack.done, 'the test stopped the daemon');
	await waitText(page, id('vwrp-error'), (t) => t.includes('not running'), 'a stopped daemon is reported');
	check(await page.locator(id('vwrp-group-wan')).count() == 0, 'no stale status is left on the page');
	await page.screenshot({ path: path.join(shots, 'luci-status-stopped.png'), fullPage: true });
	step('daemon stopped: the page says so');
	await openView(page, 'admin/status/overview');
	await waitText(page, id('vwrp-overview-error'), (t) => t.includes('not running'), 'the Overview says the daemon is not running');
	step('daemon stopped: the Overview says so');
}

/* Status › Overview: luci-mod-status' page with the app's include. */
async function overviewPage(page) {
	await openView(page, 'admin/status/overview');
	const row = await waitText(page, id('vwrp-overview-wan'), (t) => t.includes('Active'), 'the Overview shows the group');
	check(row.includes(`${env('LEASE_ADDR')}/24`), `the WAN address: ${row}`);
	check(/\b1 \(1 with another key\)/.test(row), `routers heard: 1, and 1 with another key: ${row}`);
	check(/ago: /.test(row) && /step-up|operator|handover/.test(row), `the last change with its reason: ${row}`);
	const title = await page.locator('#status-overview .cbi-section:has(#vwrp-overview) h3').innerText();
	check(title == 'WAN Redundancy', `the box is titled: ${title}`);
	check(await page.locator(id('vwrp-overview-control-links-wan')).count() == 0, 'control links all up: no notice on the Overview');
	await checkDurations(page, 'Overview');
	await page.screenshot({ path: path.join(shots, 'luci-overview.png'), fullPage: true });
	step(`Overview: role, WAN address, routers heard, last change; screenshot ${path.join(shots, 'luci-overview.png')}`);
}

/* Router 3 steps up, but the active (router 1) refuses its hellos: the
 * page says what happened and why, in the daemon's words. */
async function stepUpUnheard(page) {
	await login(page, env('LUCI_URL_R3'), 'root', '');
	const role = id('vwrp-role-wan');
	await waitText(page, role, (t) => t.trim() == 'Standby', 'router 3 is standby');
	const keys = await textOf(page, id('vwrp-peers-wan'));
	check(keys.includes('0x1') && keys.includes('Active'), `router 3 hears router 1: ${keys}`);
	await confirmStep(page, 'up');
	await waitText(page, id('vwrp-last-step-up-wan'), (t) => t.startsWith('waiting: asked router 0x1'), 'the request is shown while it waits');
	const note = await waitText(page, id('vwrp-step-up-note-wan'), (t) => t.includes('did not take effect'),
		'the page says the step up did not take effect', 20000);
	check(/router 0x1 did not hand the WAN over within \d+ ms: it does not seem to hear this router\. Check that it has this router's key 3/.test(note),
		`the daemon's reason: ${note}`);
	check((await textOf(page, role)).trim() == 'Standby', 'router 3 stays standby');
	await page.screenshot({ path: path.join(shots, 'luci-status-stepup.png'), fullPage: true });
	step(`router 3's Step up: "${note.trim()}"`);
}

/* A group without a key: the status page warns above everything else. */
async function unkeyedGroup(page) {
	await login(page, env('LUCI_URL_R4'), 'root', '');
	const warning = await waitText(page, id('vwrp-no-key-wan'), (t) => t.includes('This group has no key.'),
		'router 4 warns that its group has no key');
	check(/anyone on the control links can take the WAN/.test(warning) && /same one/.test(warning),
		`the warning says what it means and what to do: ${warning}`);
	await page.screenshot({ path: path.join(shots, 'luci-status-nokey.png'), fullPage: true });
	step(`router 4, without a key: "${warning.trim()}"`);
}

/* Router 4's control link, br-lan, tied to its WAN device at run time (the
 * WAN port added to the bridge, as in LuCI's Network › Devices), untied,
 * then without carrier (its one port unplugged): the page shows each
 * state the daemon reports, and nothing while the link carries hellos;
 * the Overview shows the tie too. */
async function controlLinks(page) {
	const box = id('vwrp-control-links-wan');
	await waitGone(page, box, 'router 4\'s br-lan is up: no notice about control links');
	await r4ip('link set wan master br-lan');
	const tied = await waitText(page, box, (t) => t.includes('Tied to the WAN device'), 'a control link tied to the WAN is shown');
	check(tied.includes('Control links that carry no hellos') &&
		tied.includes('Tied to the WAN device: br-lan is a bridge, bond or VLAN over the WAN device wan. Nothing is sent on br-lan'),
		`the notice names the link and the daemon's tie: ${tied}`);
	check((await page.locator(box).getAttribute('class')).split(' ').includes('error'), 'a tie is shown as an error');
	await page.screenshot({ path: path.join(shots, 'luci-status-tied.png'), fullPage: true });
	step(`router 4's br-lan given its WAN port: "${tied.trim().replace(/\s+/g, ' ')}"`);

	// The Overview box says the same, under the group's name.
	await openView(page, 'admin/status/overview');
	const ovBox = id('vwrp-overview-control-links-wan');
	const ov = await waitText(page, ovBox, (t) => t.includes('Tied to the WAN device'), 'the Overview shows the tied control link');
	check(ov.includes('Group wan: control links that carry no hellos') &&
		ov.includes('Tied to the WAN device: br-lan is a bridge, bond or VLAN over the WAN device wan. Nothing is sent on br-lan'),
		`the Overview names the group, the link and the daemon's tie: ${ov}`);
	check((await page.locator(ovBox).getAttribute('class')).split(' ').includes('error'), 'the Overview shows a tie as an error');
	check(await page.locator('#status-overview .cbi-section:has(#vwrp-overview) ' + ovBox).count() == 1, 'the notice is in the vwrp box');
	await page.screenshot({ path: path.join(shots, 'luci-overview-tied.png'), fullPage: true });
	step(`the Overview, router 4 tied: "${ov.trim().replace(/\s+/g, ' ')}"`);

	await r4ip('link set wan nomaster');
	await waitGone(page, ovBox, 'untied, the Overview notice goes');
	await openView(page, 'admin/status/vwrp');
	await waitGone(page, box, 'untied, the notice goes');
	step('untied: the notice is gone, on the Overview too');

	await r4ip('link set lanp down');
	const down = await waitText(page, box, (t) => t.includes('br-lan has no carrier'), 'a control link without carrier is shown');
	check(!down.includes('Tied'), `only the carrier is named: ${down}`);
	check((await page.locator(box).getAttribute('class')).split(' ').includes('warning'), 'no carrier is shown as a warning');
	await r4ip('link set lanp up');
	await waitGone(page, box, 'with carrier again, the notice goes');
	step('br-lan without carrier: "br-lan has no carrier.", gone once it is back');
}

/* A login that may only read vwrp. */
async function readOnly(page) {
	await login(page, env('LUCI_URL'), 'viewer', 'viewer');
	const role = id('vwrp-role-wan');
	await waitText(page, role, (t) => t.trim() == 'Active', 'the viewer sees the role');
	for (const b of [ 'vwrp-step-up-wan', 'vwrp-step-down-wan', 'vwrp-set-priority-wan', 'vwrp-priority-wan' ])
		check(await page.locator(id(b)).isDisabled(), `${b} is disabled for a read-only login`);
	const why = await textOf(page, id('vwrp-readonly-wan'));
	check(why.includes('You are not allowed to change vwrp'), `the page says why: ${why}`);
	await page.screenshot({ path: path.join(shots, 'luci-status-readonly.png'), fullPage: true });
	step(`read-only login: Step up, Step down and Set disabled; screenshot ${path.join(shots, 'luci-status-readonly.png')}`);

	// A page whose buttons were left enabled (opened before the login lost
	// its write access): rpcd still refuses, and the user reads why.
	await page.evaluate(() => document.getElementById('vwrp-step-down-wan').disabled = false);
	await confirmStep(page, 'down');
	const note = await waitText(page, '.vwrp-note', (t) => t.length > 0, 'the refusal is shown');
	check(note.trim() == 'Could not step down: You are not allowed to change vwrp: your login may only view it.', `in words: ${note}`);
	check(!/\bat\b|\.js|RPCError|-32002|Access denied|ClassConstructor/.test(note), `no JavaScript in the message: ${note}`);
	await page.waitForTimeout(2500);
	check((await textOf(page, role)).trim() == 'Active', 'nothing changed');
	step('a refused Step down reads "You are not allowed to change vwrp", no stack');

	await openView(page, 'admin/services/vwrp');
	const editable = await page.$$eval('#view input, #view select, #view button', (els) =>
		els.filter((e) => !e.disabled && e.type != 'hidden' && !/Reveal/.test(e.title || '')).map((e) => e.id || e.textContent));
	check(editable.length == 0, `every field and button of the settings is disabled: ${editable.join(', ')}`);
	const heard = await textOf(page, id('vwrp-keys-wan'));
	check(heard.includes('0x2') && heard.includes('0x3'), `the key table is readable: ${heard}`);
	step('read-only login: the settings are shown, all disabled');

	await openView(page, 'admin/status/overview');
	await waitText(page, id('vwrp-overview-wan'), (t) => t.includes('Active'), 'the viewer sees the Overview entry');
	step('read-only login: the Overview entry is there');
}

async function settingsPage(page) {
	await openView(page, 'admin/services/vwrp');
	// The rows of the shipped file's sections: globals, group wan, tracker wan_link.
	for (const [section, sid] of [ [ 'globals', 'globals' ], [ 'group', 'wan' ], [ 'tracker', 'wan_link' ] ]) {
		for (const opt of schema[section]) {
			const name = (opt == 'key') ? '_key0' : opt;
			check(await page.locator(id(`cbi-vwrp-${sid}-${name}`)).count() == 1, `settings have option ${section}.${opt}`);
		}
	}
	check(await page.locator(id('widget.cbid.vwrp.wan._key0')).getAttribute('type') == 'password', 'the key is a password field');
	step(`every option of docs/CONFIG.md is on the form (${schema.globals.length + schema.group.length + schema.tracker.length})`);

	// Device pickers list the router's own devices (router 1's namespace).
	for (const sel of [ 'widget.cbid.vwrp.wan.wan_device', 'widget.cbid.vwrp.wan.control', 'widget.cbid.vwrp.wan_link.device' ]) {
		const opts = await page.$$eval(`${id(sel)} option`, (os) => os.map((o) => o.value));
		check(opts.includes('wan') && opts.includes('lan') && !opts.includes('lo'), `${sel} offers the router's devices: ${opts}`);
	}
	check(await page.inputValue(id('widget.cbid.vwrp.wan.wan_device')) == 'wan', 'the configured WAN device is chosen');
	check(await page.locator(id('widget.cbid.vwrp.wan.control')).getAttribute('multiple') != null, 'control interfaces: several may be chosen');
	const control = await page.$$eval(`${id('widget.cbid.vwrp.wan.control')} option:checked`, (os) => os.map((o) => o.value));
	check(control.join() == 'br-lan', `a configured device the router lacks is kept: ${control}`);
	await page.selectOption(id('widget.cbid.vwrp.wan.control'), [ 'lan' ]);
	step('device pickers: wan, lan from the router; br-lan kept; lan chosen');

	await page.click('[id="cbi-vwrp-wan"] .cbi-tabmenu a:has-text("DHCP")');
	await checkSelectsFit(page);
	await page.click('[id="cbi-vwrp-wan"] .cbi-tabmenu a:has-text("General")');
	await checkSelectsFit(page);
	step('no dropdown cuts its text');

	const hello = id('widget.cbid.vwrp.wan.hello_interval');
	const invalid = async (sel) => (await page.locator(sel).getAttribute('class')).includes('cbi-input-invalid');
	await page.click('[id="cbi-vwrp-wan"] .cbi-tabmenu a:has-text("Timing")');
	for (const [v, bad] of [ [ '1.5ms', true ], [ '5ms', true ], [ '2m', true ], [ '100', false ], [ '0.25s', false ], [ '250ms', false ] ]) {
		await page.fill(hello, v);
		check(await invalid(hello) == bad, `hello_interval ${v} is ${bad ? 'refused' : 'accepted'}`);
	}
	const wanHello = id('widget.cbid.vwrp.wan.wan_hello_interval');
	await page.fill(wanHello, '0');
	check(!await invalid(wanHello), 'wan_hello_interval 0 (off) is accepted');
	await page.fill(wanHello, '');
	step('durations: sub-second accepted, 1.5ms and out-of-range refused');

	await page.click('[id="cbi-vwrp-wan"] .cbi-tabmenu a:has-text("General")');
	const prio = id('widget.cbid.vwrp.wan.priority');
	await page.fill(prio, '300');
	check(await invalid(prio), 'priority 300 is refused');
	await page.click('#save-apply');
	await page.waitForSelector(id('save-error'), { timeout: 10000 });
	check((await textOf(page, id('save-error'))).includes('Priority'), 'saving with a bad value names the option');
	await page.click('#modal_overlay button:has-text("Dismiss")');
	await page.fill(prio, '150');
	await page.check(id('widget.cbid.vwrp.wan.enabled'));
	step('a bad value stops Save & Apply with a message');

	await page.click('[id="cbi-vwrp-wan"] .cbi-tabmenu a:has-text("Security")');
	const heard = await textOf(page, id('vwrp-keys-wan'));
	check(/0x2\s+1\s+yes\s+Same key as this router \(key 1\)/.test(heard), `router 2 uses the same key: ${heard}`);
	check(/0x3\s+3\s+no\s+Refused: it signs with key 3, which this router does not have/.test(heard), `router 3 does not: ${heard}`);
	await checkDurations(page, 'settings page');
	step('Security: router 2 heard with the same key, router 3 with key 3, refused');

	await page.click(id('vwrp-genkey-wan-0'));
	const key0 = await waitText(page, id('vwrp-genkey-note-wan-0'), (t) => t.includes('every router'), 'a note says what to do with the key')
		.then(() => page.inputValue(id('widget.cbid.vwrp.wan._key0')));
	check(/^1:[0-9a-f]{64}$/.test(key0), `a fresh key 1 in the field: ${key0}`);
	check(await page.locator(id('widget.cbid.vwrp.wan._key0')).getAttribute('type') == 'text', 'the new key is shown, to copy it');
	await page.click(id('vwrp-genkey-wan-1'));
	await waitText(page, id('vwrp-genkey-note-wan-1'), (t) => t.includes('every router'), 'the second key too');
	const key1 = await page.inputValue(id('widget.cbid.vwrp.wan._key1'));
	check(/^2:[0-9a-f]{64}$/.test(key1) && key1 != key0, `the second key gets the next free id: ${key1}`);
	await page.locator(id('cbi-vwrp-wan')).screenshot({ path: path.join(shots, 'luci-settings-keys.png') });
	step(`Generate: keys 1 and 2 made on the router (vwrp genkey through ubus); screenshot ${path.join(shots, 'luci-settings-keys.png')}`);

	await page.fill(id('add-tracker'), 'upstream');
	await page.click(id('add-tracker-button'));
	await page.waitForSelector(id('cbi-vwrp-upstream'));
	await page.selectOption(id('widget.cbid.vwrp.upstream.type'), 'ping');
	await page.locator(id('widget.cbid.vwrp.upstream.type')).dispatchEvent('change');
	await page.waitForSelector(id('cbi-vwrp-upstream-target'), { state: 'visible' });
	check(!await page.locator(id('cbi-vwrp-upstream-device')).isVisible(), 'device is hidden for a ping tracker');
	for (const t of [ '192.0.2.53', '198.51.100.53' ]) {
		await page.fill(id('widget.cbid.vwrp.upstream.target'), t);
		await page.click(id('widget.cbid.vwrp.upstream.target.add'));
	}
	await page.fill(id('widget.cbid.vwrp.upstream.reliability'), '3');
	check(await invalid(id('widget.cbid.vwrp.upstream.reliability')), 'reliability above the number of targets is refused');
	await page.fill(id('widget.cbid.vwrp.upstream.reliability'), '2');
	await page.fill(id('widget.cbid.vwrp.upstream.weight'), '20');
	step('tracker "upstream" added: ping, two targets');

	// The section was re-rendered when the tracker was added: the values
	// typed before survive (they went to uci), the key among them.
	await page.click('[id="cbi-vwrp-wan"] .cbi-tabmenu a:has-text("Timing")');
	check(await page.inputValue(hello) == '250ms', 'typed values survive adding a section');
	await page.click('#save-apply');
	await page.waitForSelector(id('applied'), { timeout: 15000 });
	step('Save & Apply');

	const file = fs.readFileSync(env('UCI_FILE'), 'utf8');
	for (const want of [ "option hello_interval '250ms'", "option priority '150'", `list key '${key0}'`, `list key '${key1}'`,
	                     "list control 'lan'",
	                     "config tracker 'upstream'", "list target '192.0.2.53'", "list target '198.51.100.53'",
	                     "option type 'ping'", "option reliability '2'", "option weight '20'" ])
		check(file.includes(want), `the saved file has ${want}:\n${file}`);
	check(!/option enabled '0'/.test(file), `the group is enabled:\n${file}`);
	check(!/br-lan/.test(file), `the control device was replaced:\n${file}`);
	try {
		execFileSync(env('VWRP_BIN'), [ 'check-config', env('UCI_FILE') ], { stdio: 'pipe' });
	}
	catch (e) {
		throw new Error(`FAILED: vwrp check-config refuses the saved file: ${e.stderr}\n${file}`);
	}
	step('the saved /etc/config/vwrp passes vwrp check-config');

	await page.screenshot({ path: path.join(shots, 'luci-settings.png'), fullPage: true });
	step(`screenshot ${path.join(shots, 'luci-settings.png')}`);
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vwrp-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	viewport: { width: 1200, height: 900 },
	args: [ '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	        '--disable-background-networking', '--disable-component-update', '--disable-sync' ]
});
let failed = false;
try {
	const page = await browser.newPage();
	page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`));
	await login(page, env('LUCI_URL'), 'root', '');
	step('logged in as root');
	await statusPage(page);
	await overviewPage(page);
	await settingsPage(page);
	await stepUpUnheard(page);
	await unkeyedGroup(page);
	await controlLinks(page);
	await readOnly(page);
	await stoppedDaemon(page);
}
catch (e) {
	failed = true;
	console.log(e.stack || String(e));
}
finally {
	await browser.close();
	fs.rmSync(profile, { recursive: true, force: true });
	stdin.close();
}
console.log(failed ? 'browser test FAILED' : 'browser test passed');
process.exit(failed ? 1 : 0);
