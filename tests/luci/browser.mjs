// The browser half of tests/luci.rs: Debian's chromium, headless, driven
// by playwright-core, against tests/luci/harness.py (the app's real views
// on a LuCI stand-in, ubus calls answered by the real rpcd plugin and the
// real daemon). It checks what a user sees, and prints one line per step.
//
// Environment (set by tests/luci.rs):
//   LUCI_URL      http://127.0.0.1:PORT of the harness
//   SHOT_DIR      where the screenshots go
//   LEASE_ADDR    the address the active router leased
//   UCI_FILE      the harness's /etc/config/vwrp
//   VWRP_BIN      the vwrp binary, for `vwrp check-config`
//   SCHEMA        JSON {globals: [...], group: [...], tracker: [...]}: the
//                 options of docs/CONFIG.md
// Protocol: it prints "STOP-DAEMON" and waits for a line on stdin once
// the daemon has been stopped.

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
const base = env('LUCI_URL');
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

async function openView(page, menuPath) {
	await page.goto(`${base}/cgi-bin/luci/${menuPath}`);
	await page.waitForSelector('body[data-view-ready]', { timeout: 15000 });
	const errors = await page.evaluate(() => window.__luciErrors || []);
	check(errors.length == 0, `no runtime errors on ${menuPath}: ${errors.join('\n')}`);
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
	step('peers table: 0x2 Standby');

	const lease = await textOf(page, id('vwrp-lease-wan'));
	check(lease.includes(env('LEASE_ADDR')) && /Time left/.test(lease), `lease shown: ${lease}`);
	const trackers = await textOf(page, id('vwrp-trackers-wan'));
	check(trackers.includes('lan_link'), `tracker shown: ${trackers}`);
	const counters = await textOf(page, id('vwrp-counters-wan'));
	check(/Hellos sent/.test(counters) && /Hellos received/.test(counters), `counters shown: ${counters}`);
	step('lease, trackers and counters');

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
	step('Step up, confirmed: Active');

	await page.fill(id('vwrp-priority-wan'), '120');
	await page.click(id('vwrp-set-priority-wan'));
	await waitText(page, id('vwrp-group-wan'), (t) => t.includes('run-time priority 120'), 'the run-time priority is shown');
	step('run-time priority 120');

	console.log('STOP-DAEMON');
	const ack = await lines.next();
	check(!ack.done, 'the test stopped the daemon');
	await waitText(page, id('vwrp-error'), (t) => t.includes('not running'), 'a stopped daemon is reported');
	check(await page.locator(id('vwrp-group-wan')).count() == 0, 'no stale status is left on the page');
	await page.screenshot({ path: path.join(shots, 'luci-status-stopped.png'), fullPage: true });
	step('daemon stopped: the page says so');
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
	await page.fill(id('widget.cbid.vwrp.wan._key0'), '1:browser test secret');

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
	for (const want of [ "option hello_interval '250ms'", "option priority '150'", "list key '1:browser test secret'",
	                     "config tracker 'upstream'", "list target '192.0.2.53'", "list target '198.51.100.53'",
	                     "option type 'ping'", "option reliability '2'", "option weight '20'" ])
		check(file.includes(want), `the saved file has ${want}:\n${file}`);
	check(!/option enabled '0'/.test(file), `the group is enabled:\n${file}`);
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
	await statusPage(page);
	await settingsPage(page);
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
