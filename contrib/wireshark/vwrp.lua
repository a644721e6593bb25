-- Wireshark dissector for vwrp, the Virtual WAN Redundancy Protocol,
-- version 2, written from docs/PROTOCOL.md. Nothing installs it:
--
--   tshark -X lua_script:contrib/wireshark/vwrp.lua -r capture.pcap -Y vwrp
--   wireshark -X lua_script:contrib/wireshark/vwrp.lua capture.pcap
--
-- or copy it into Wireshark's personal Lua plugins folder
-- (~/.local/lib/wireshark/plugins/). Preferences (Protocols > VWRP, or
-- `-o vwrp.NAME:VALUE`):
--
--   vwrp.ethertype  a group's configured EtherType, decoded besides 0x88b5
--   vwrp.key        ID:SECRET as in /etc/config/vwrp's `list key`: frames
--                   signed with that key id have their tag checked (good/bad)
--
-- The frame layout is data: HEADER and TLVS below list every field in wire
-- order, and the code walks them. A change to the wire format is an edit
-- of those tables (and of `covered` if the tag's input changes). Problems
-- are expert infos named after the reference implementation's errors
-- (Truncated, BadTlv(2), BadTag, ...), so a capture says what a receiver
-- would do with each frame.

local vwrp = Proto("vwrp", "Virtual WAN Redundancy Protocol")

local DEFAULT_ETHERTYPE = 0x88b5
local VERSION = 2
local TAG_LEN = 32

local MESSAGE_TYPES = { [1] = "HELLO", [2] = "OFFER", [3] = "READY", [4] = "DONE", [5] = "RELEASE" }
local STATES = { [0] = "Init", [1] = "Standby", [2] = "TakingOver", [3] = "Active", [4] = "HandingOver", [5] = "Fault" }
local REASONS = { [1] = "operator", [2] = "preempt", [3] = "tracker", [4] = "shutdown" }
local AUTH_STATUS = { [0] = "Bad", [1] = "Good", [2] = "Unverified" }

-- Field kinds: size in bytes (nil: the rest of the value) and how to show it.
local KINDS = {
	u8 = { size = 1, new = ProtoField.uint8, base = base.DEC },
	u16 = { size = 2, new = ProtoField.uint16, base = base.DEC },
	u32 = { size = 4, new = ProtoField.uint32, base = base.DEC },
	hex8 = { size = 1, new = ProtoField.uint8, base = base.HEX },
	hex32 = { size = 4, new = ProtoField.uint32, base = base.HEX },
	ipv4 = { size = 4, new = ProtoField.ipv4 },
	ipv6 = { size = 16, new = ProtoField.ipv6 },
	bytes = { new = ProtoField.bytes },
}

-- A field: { key, label, kind, ... } and optionally
--   values = names of the values; closed = true: other values are refused
--   max = highest value allowed; nonzero = true: 0 is refused
--   err = the error a header field's bad value gives ("%d": the value)
--   reserved = true: sent as 0, ignored
--   bits = { { key, label, mask }, ... } flag bits of the field
--   each = true: the field repeats to the end of the value

-- §2.2, §2.5: the 24-byte header.
local HEADER = {
	{ "version", "Version", "u8", err = "UnknownVersion(%d)" },
	{ "type", "Message type", "u8", values = MESSAGE_TYPES, closed = true, err = "UnknownType(%d)" },
	{ "group", "Group", "u8" },
	{ "state", "State", "u8", values = STATES, closed = true, err = "BadState(%d)" },
	{ "router_id", "Router ID", "hex32", nonzero = true, err = "BadField(router id)" },
	{ "priority", "Priority", "u8" },
	{ "effective_priority", "Effective priority", "u8", max = 254, err = "BadField(effective priority)" },
	{ "flags", "Flags", "hex8", bits = {
		{ "auth", "AUTH (authentication trailer follows)", 0x01 },
		{ "want_preempt", "WANT_PREEMPT", 0x02 },
		{ "want_step_up", "WANT_STEP_UP", 0x04 },
		{ "wan", "WAN (sent on the WAN path)", 0x08 },
		{ "leaving", "LEAVING (must leave the active role)", 0x10 },
		{ "forwarding", "FORWARDING (the sender's WAN is open)", 0x20 },
		{ "reserved", "Reserved", 0xc0, reserved = true },
	} },
	{ "dead_multiplier", "Dead multiplier", "u8", nonzero = true, err = "BadField(dead multiplier)" },
	{ "hello_interval", "Hello interval (ms)", "u16", nonzero = true, err = "BadField(hello interval)" },
	{ "tlv_length", "TLV length", "u16" },
	{ "epoch", "Epoch", "hex32" },
	{ "sequence", "Sequence", "u32", nonzero = true, err = "BadField(sequence)" },
}

local function ia6(what)
	return {
		{ "address", what, "ipv6" },
		{ "prefix_len", "Prefix length", "u8", max = 128 },
		{ "reserved", "Reserved", "u8", reserved = true },
		{ "preferred_left", "Preferred lifetime left (s)", "u32" },
		{ "valid_left", "Valid lifetime left (s)", "u32" },
	}
end

-- §2.6: TLV types. size = { min, max, step }: the value sizes allowed.
-- single: a second one refuses the frame (DuplicateTlv).
local TLVS = {
	[1] = { "ipv4_lease", "IPV4_LEASE", size = { 30, 30 + 4 * 56, 4 }, single = true, fields = {
		{ "address", "Leased address", "ipv4" },
		{ "prefix_len", "Prefix length", "u8", max = 32 },
		{ "reserved", "Reserved", "u8", reserved = true },
		{ "gateway", "Default gateway", "ipv4" },
		{ "server_id", "DHCP server identifier", "ipv4" },
		{ "lease_time", "Lease time granted (s)", "u32" },
		{ "valid_left", "Valid left (s)", "u32" },
		{ "renew_left", "Renew left (s)", "u32" },
		{ "rebind_left", "Rebind left (s)", "u32" },
		{ "dns", "DNS server", "ipv4", each = true },
	} },
	[2] = { "client_id", "CLIENT_ID", size = { 1, 255, 1 }, single = true, fields = {
		{ "value", "DHCP client identifier (option 61)", "bytes" },
	} },
	[3] = { "ipv6_address", "IPV6_ADDRESS", size = { 26, 26, 1 }, fields = ia6("IA_NA address") },
	[4] = { "ipv6_prefix", "IPV6_PREFIX", size = { 26, 26, 1 }, fields = ia6("Delegated prefix") },
	[5] = { "ipv6_dns", "IPV6_DNS", size = { 16, 16 * 15, 16 }, single = true, fields = {
		{ "server", "DNS server", "ipv6", each = true },
	} },
	[6] = { "ipv6_gateway", "IPV6_GATEWAY", size = { 16, 16, 1 }, single = true, fields = {
		{ "address", "Default router", "ipv6" },
	} },
	[7] = { "dhcpv6_duid", "DHCPV6_DUID", size = { 5, 255, 1 }, single = true, fields = {
		{ "iaid", "IAID", "u32" },
		{ "duid", "DUID", "bytes" },
	} },
	[8] = { "trackers", "TRACKERS", size = { 8, 8, 1 }, single = true, fields = {
		{ "total", "Trackers", "u8" },
		{ "up", "Up", "u8" },
		{ "down", "Down", "u8" },
		{ "unknown", "Unknown", "u8" },
		{ "penalty", "Penalty", "u8" },
		{ "flags", "Flags", "hex8", bits = {
			{ "fatal", "FATAL (a fatal tracker is down)", 0x01 },
			{ "reserved", "Reserved", 0xfe, reserved = true },
		} },
		{ "hold_left", "Anti-flap hold left (s)", "u16" },
	} },
	[9] = { "handover", "HANDOVER", size = { 9, 9, 1 }, single = true, fields = {
		{ "target", "Target router ID", "hex32" },
		{ "id", "Handover ID", "hex32" },
		{ "reason", "Reason", "u8", values = REASONS, closed = true },
	} },
	[10] = { "dhcpv6_server", "DHCPV6_SERVER", size = { 9, 255, 1 }, single = true, fields = {
		{ "renew_left", "Renew left (s)", "u32" },
		{ "rebind_left", "Rebind left (s)", "u32" },
		{ "duid", "Server DUID", "bytes" },
	} },
}

-- ProtoFields, built from the tables.
local pfs = {}
local function define(prefix, spec)
	local kind = KINDS[spec[3]]
	local abbr = prefix .. "." .. spec[1]
	if kind.base then
		spec.pf = kind.new(abbr, spec[2], kind.base, spec.values)
	else
		spec.pf = kind.new(abbr, spec[2])
	end
	pfs[#pfs + 1] = spec.pf
	for _, bit in ipairs(spec.bits or {}) do
		if bit.reserved then
			bit.pf = ProtoField.uint8(abbr .. "." .. bit[1], bit[2], base.HEX, nil, bit[3])
		else
			bit.pf = ProtoField.bool(abbr .. "." .. bit[1], bit[2], 8, nil, bit[3])
		end
		pfs[#pfs + 1] = bit.pf
	end
end

local OFF = {} -- header offsets by key
local HEADER_LEN = 0
for _, spec in ipairs(HEADER) do
	define("vwrp", spec)
	spec.size = KINDS[spec[3]].size
	OFF[spec[1]] = HEADER_LEN
	HEADER_LEN = HEADER_LEN + spec.size
end
local TRAILER_LEN = 1 + TAG_LEN

local TLV_NAMES = {}
for t, tlv in pairs(TLVS) do
	TLV_NAMES[t] = tlv[2]
	for _, spec in ipairs(tlv.fields) do
		define("vwrp." .. tlv[1], spec)
	end
end

local f_tlv = ProtoField.none("vwrp.tlv", "TLV")
local f_tlv_type = ProtoField.uint8("vwrp.tlv.type", "Type", base.DEC, TLV_NAMES)
local f_tlv_length = ProtoField.uint8("vwrp.tlv.length", "Length")
local f_tlv_value = ProtoField.bytes("vwrp.tlv.value", "Value")
local f_auth = ProtoField.none("vwrp.auth", "Authentication trailer")
local f_key_id = ProtoField.uint8("vwrp.auth.key_id", "Key ID")
local f_tag = ProtoField.bytes("vwrp.auth.tag", "Tag (HMAC-SHA256)")
local f_tag_status = ProtoField.uint8("vwrp.auth.status", "Tag status", base.DEC, AUTH_STATUS)
local f_tag_expected = ProtoField.bytes("vwrp.auth.expected", "Expected tag")
local f_data = ProtoField.bytes("vwrp.data", "Not decoded")
for _, pf in ipairs({ f_tlv, f_tlv_type, f_tlv_length, f_tlv_value, f_auth, f_key_id, f_tag, f_tag_status, f_tag_expected, f_data }) do
	pfs[#pfs + 1] = pf
end
vwrp.fields = pfs

local E, S = expert.group, expert.severity
local ex = {
	truncated = ProtoExpert.new("vwrp.truncated", "Truncated", E.MALFORMED, S.ERROR),
	version = ProtoExpert.new("vwrp.version.unknown", "UnknownVersion", E.MALFORMED, S.ERROR),
	header = ProtoExpert.new("vwrp.header.bad", "Refused header field", E.MALFORMED, S.ERROR),
	tlv = ProtoExpert.new("vwrp.tlv.bad", "BadTlv", E.MALFORMED, S.ERROR),
	duplicate = ProtoExpert.new("vwrp.tlv.duplicate", "DuplicateTlv", E.MALFORMED, S.ERROR),
	unknown_tlv = ProtoExpert.new("vwrp.tlv.unknown", "Unknown TLV type, skipped", E.UNDECODED, S.NOTE),
	reserved = ProtoExpert.new("vwrp.reserved", "Reserved bits not 0 (ignored)", E.PROTOCOL, S.NOTE),
	handover = ProtoExpert.new("vwrp.handover.misplaced", "HANDOVER TLV missing or misplaced", E.PROTOCOL, S.WARN),
	bad_tag = ProtoExpert.new("vwrp.auth.bad", "BadTag", E.CHECKSUM, S.ERROR),
	unverified = ProtoExpert.new("vwrp.auth.unverified", "Tag not verified", E.CHECKSUM, S.NOTE),
	unauthenticated = ProtoExpert.new("vwrp.auth.missing", "Unauthenticated", E.SECURITY, S.WARN),
	replayed = ProtoExpert.new("vwrp.replayed", "Replayed", E.SEQUENCE, S.WARN),
}
vwrp.experts = { ex.truncated, ex.version, ex.header, ex.tlv, ex.duplicate, ex.unknown_tlv, ex.reserved,
	ex.handover, ex.bad_tag, ex.unverified, ex.unauthenticated, ex.replayed }

vwrp.prefs.ethertype = Pref.string("EtherType", "",
	"A group's configured EtherType (option ethertype), e.g. 0x88b6; 0x88b5 is always decoded")
vwrp.prefs.key = Pref.string("Key (ID:SECRET)", "",
	"A key as in /etc/config/vwrp's `list key`: frames signed with this key id have their tag checked")

---------------------------------------------------------------------------
-- HMAC-SHA256 (§3.1). Wireshark's Lua has no hash function; Lua 5.2
-- builds have bit32, later ones Lua BitOp's `bit` (signed results).
local b32 = bit32
if not b32 then
	local function u(x) return x % 4294967296 end
	b32 = {
		band = function(...) return u(bit.band(...)) end,
		bxor = function(...) return u(bit.bxor(...)) end,
		bnot = function(x) return u(bit.bnot(x)) end,
		rshift = function(x, n) return u(bit.rshift(x, n)) end,
		rrotate = function(x, n) return u(bit.ror(x, n)) end,
	}
end
local band, bxor, bnot, rshift, rrotate = b32.band, b32.bxor, b32.bnot, b32.rshift, b32.rrotate
local M32 = 4294967296

local K = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

-- SHA-256 of a list of byte values; returns a list of 32 byte values.
local function sha256(msg)
	local m = {}
	for i = 1, #msg do m[i] = msg[i] end
	local bits = #msg * 8
	m[#m + 1] = 0x80
	while #m % 64 ~= 56 do m[#m + 1] = 0 end
	for i = 7, 0, -1 do m[#m + 1] = math.floor(bits / 2 ^ (8 * i)) % 256 end
	local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
	local w = {}
	for chunk = 1, #m, 64 do
		for i = 0, 15 do
			local j = chunk + 4 * i
			w[i] = ((m[j] * 256 + m[j + 1]) * 256 + m[j + 2]) * 256 + m[j + 3]
		end
		for i = 16, 63 do
			local s0 = bxor(rrotate(w[i - 15], 7), rrotate(w[i - 15], 18), rshift(w[i - 15], 3))
			local s1 = bxor(rrotate(w[i - 2], 17), rrotate(w[i - 2], 19), rshift(w[i - 2], 10))
			w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % M32
		end
		local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
		for i = 0, 63 do
			local s1 = bxor(rrotate(e, 6), rrotate(e, 11), rrotate(e, 25))
			local ch = bxor(band(e, f), band(bnot(e), g))
			local t1 = (hh + s1 + ch + K[i + 1] + w[i]) % M32
			local s0 = bxor(rrotate(a, 2), rrotate(a, 13), rrotate(a, 22))
			local maj = bxor(band(a, b), band(a, c), band(b, c))
			hh, g, f, e, d, c, b, a = g, f, e, (d + t1) % M32, c, b, a, (t1 + s0 + maj) % M32
		end
		h[1], h[2], h[3], h[4] = (h[1] + a) % M32, (h[2] + b) % M32, (h[3] + c) % M32, (h[4] + d) % M32
		h[5], h[6], h[7], h[8] = (h[5] + e) % M32, (h[6] + f) % M32, (h[7] + g) % M32, (h[8] + hh) % M32
	end
	local out = {}
	for i = 1, 8 do
		for s = 3, 0, -1 do out[#out + 1] = math.floor(h[i] / 2 ^ (8 * s)) % 256 end
	end
	return out
end

local function hmac_sha256(key, msg)
	if #key > 64 then key = sha256(key) end
	local inner, outer = {}, {}
	for i = 1, 64 do
		local k = key[i] or 0
		inner[i] = bxor(k, 0x36)
		outer[i] = bxor(k, 0x5c)
	end
	for i = 1, #msg do inner[64 + i] = msg[i] end
	local ih = sha256(inner)
	for i = 1, 32 do outer[64 + i] = ih[i] end
	return sha256(outer)
end

local function byte_list(tvb, off, len)
	local out = {}
	for i = 0, len - 1 do out[i + 1] = tvb(off + i, 1):uint() end
	return out
end

local function hex(list)
	local s = {}
	for i, v in ipairs(list) do s[i] = string.format("%02x", v) end
	return table.concat(s)
end

---------------------------------------------------------------------------
-- Preferences.
local key_id, key_secret -- from vwrp.prefs.key
local extra_ethertype -- from vwrp.prefs.ethertype

local function parse_key(text)
	local id, secret = string.match(text or "", "^%s*(%d+):(.+)$")
	id = tonumber(id)
	if not id or id > 255 then return nil end
	local bytes = {}
	for i = 1, #secret do bytes[i] = string.byte(secret, i) end
	return id, bytes
end

function vwrp.prefs_changed()
	key_id, key_secret = parse_key(vwrp.prefs.key)
	local ethertypes = DissectorTable.get("ethertype")
	if extra_ethertype and extra_ethertype ~= DEFAULT_ETHERTYPE then ethertypes:remove(extra_ethertype, vwrp) end
	extra_ethertype = tonumber(vwrp.prefs.ethertype)
	if extra_ethertype and extra_ethertype >= 0x0600 and extra_ethertype <= 0xffff then
		ethertypes:add(extra_ethertype, vwrp)
	else
		extra_ethertype = nil
	end
end

---------------------------------------------------------------------------
-- Replay (§3.4): per sender and epoch, the highest sequence number and the
-- 64 below it. A capture is not a receiver: every epoch is remembered, not
-- the last 4. Computed on the first pass; Wireshark dissects again later.
local replay_windows, replay_verdicts = {}, {}

function vwrp.init()
	replay_windows, replay_verdicts = {}, {}
end

local function replay_check(router_id, epoch, seq)
	local k = router_id .. ":" .. epoch
	local w = replay_windows[k]
	if not w then
		replay_windows[k] = { highest = seq, seen = { [seq] = true } }
		return nil
	end
	if seq > w.highest then
		for s in pairs(w.seen) do
			if s + 64 <= seq then w.seen[s] = nil end
		end
		w.highest = seq
		w.seen[seq] = true
		return nil
	end
	if w.highest - seq >= 64 then
		return string.format("Replayed: sequence %d is 64 or more below %d, the highest seen from this sender and epoch", seq, w.highest)
	end
	if w.seen[seq] then
		return string.format("Replayed: sequence %d seen before from this sender and epoch", seq)
	end
	w.seen[seq] = true
	return nil
end

---------------------------------------------------------------------------
-- Dissection.

-- Why a field's value is refused, or nil.
local function violation(spec, v)
	if spec.closed and spec.values[v] == nil then return "unassigned value " .. v end
	if spec.max and v > spec.max then return string.format("%d is above %d", v, spec.max) end
	if spec.nonzero and v == 0 then return "must not be 0" end
	return nil
end

-- Adds one field at `off` (`size` bytes) and checks it. `refuse(item,
-- why, v)` reports a refused value. Returns the value (numbers only).
local function add_field(tree, tvb, off, size, spec, refuse)
	local range = tvb(off, size)
	local item = tree:add(spec.pf, range)
	local v = size <= 4 and spec[3] ~= "bytes" and range:uint() or nil
	if v then
		local set = {}
		for _, bit in ipairs(spec.bits or {}) do
			item:add(bit.pf, range)
			if band(v, bit[3]) ~= 0 then
				if bit.reserved then
					item:add_proto_expert_info(ex.reserved,
						string.format("%s: reserved bits 0x%02x set (ignored)", spec[2], band(v, bit[3])))
				else
					set[#set + 1] = string.upper(bit[1])
				end
			end
		end
		if #set > 0 then item:append_text(" (" .. table.concat(set, ", ") .. ")") end
		if spec.reserved and v ~= 0 then
			item:add_proto_expert_info(ex.reserved, spec[2] .. " is not 0 (ignored)")
		end
		local why = violation(spec, v)
		if why then refuse(item, spec[2] .. ": " .. why, v) end
	end
	return v
end

-- Whether a value of `len` bytes fits the TLV's size rule.
local function size_ok(rule, len)
	return len >= rule[1] and len <= rule[2] and (len - rule[1]) % rule[3] == 0
end

local function size_text(rule)
	if rule[1] == rule[2] then return rule[1] .. " bytes" end
	if rule[3] == 1 then return rule[1] .. ".." .. rule[2] .. " bytes" end
	return string.format("%d + %dn bytes, up to %d", rule[1], rule[3], rule[2])
end

-- One TLV whose value is `len` bytes at `off`. Returns the decoded
-- numeric fields by key.
local function add_tlv_value(tree, tvb, off, len, t, tlv, problems)
	local values = {}
	local function refuse(item, why)
		item:add_proto_expert_info(ex.tlv, string.format("BadTlv(%d): %s", t, why))
		problems[#problems + 1] = string.format("BadTlv(%d)", t)
	end
	local at, stop = off, off + len
	for _, spec in ipairs(tlv.fields) do
		local size = KINDS[spec[3]].size or (stop - at)
		repeat
			values[spec[1]] = add_field(tree, tvb, at, size, spec, refuse)
			at = at + size
		until not spec.each or at >= stop
	end
	return values
end

local function add_tlvs(tree, tvb, off, stop, problems)
	local seen, found = {}, {}
	while off < stop do
		local t = tvb(off, 1):uint()
		local name = TLV_NAMES[t] or ("unknown type " .. t)
		if stop - off < 2 then
			local item = tree:add(f_tlv, tvb(off, 1)):set_text("TLV " .. name .. ", cut short")
			item:add(f_tlv_type, tvb(off, 1))
			item:add_proto_expert_info(ex.tlv, string.format("BadTlv(%d): one byte left in the TLV area, no length", t))
			problems[#problems + 1] = string.format("BadTlv(%d)", t)
			return found
		end
		local len = tvb(off + 1, 1):uint()
		local avail = math.min(len, stop - off - 2)
		local item = tree:add(f_tlv, tvb(off, 2 + avail)):set_text(string.format("TLV %s, %d bytes", name, len))
		item:add(f_tlv_type, tvb(off, 1))
		item:add(f_tlv_length, tvb(off + 1, 1))
		if avail < len then
			if avail > 0 then item:add(f_tlv_value, tvb(off + 2, avail)) end
			item:add_proto_expert_info(ex.tlv, string.format(
				"BadTlv(%d): the value of %d bytes runs past the TLV area (%d bytes left)", t, len, avail))
			problems[#problems + 1] = string.format("BadTlv(%d)", t)
			return found
		end
		local tlv = TLVS[t]
		if not tlv then
			if len > 0 then item:add(f_tlv_value, tvb(off + 2, len)) end
			item:add_proto_expert_info(ex.unknown_tlv, string.format("TLV type %d is not defined by version 2: skipped", t))
		else
			if tlv.single and seen[t] then
				item:add_proto_expert_info(ex.duplicate, string.format("DuplicateTlv(%d): %s appears more than once", t, tlv[2]))
				problems[#problems + 1] = string.format("DuplicateTlv(%d)", t)
			end
			seen[t] = true
			if size_ok(tlv.size, len) then
				found[tlv[1]] = add_tlv_value(item, tvb, off + 2, len, t, tlv, problems)
			else
				if len > 0 then item:add(f_tlv_value, tvb(off + 2, len)) end
				item:add_proto_expert_info(ex.tlv, string.format("BadTlv(%d): %s takes %s, not %d",
					t, tlv[2], size_text(tlv.size), len))
				problems[#problems + 1] = string.format("BadTlv(%d)", t)
			end
		end
		off = off + 2 + len
	end
	return found
end

-- The bytes the tag covers (§3.1): the Ethernet destination, which binds
-- the frame to its receiver, then header and TLVs, then the key id.
local eth_dst = Field.new("eth.dst")
local function covered(tvb, body_len)
	local msg = {}
	local dst = eth_dst()
	if dst then
		local bytes = dst.range:bytes()
		for i = 0, bytes:len() - 1 do msg[#msg + 1] = bytes:get_index(i) end
	end
	for _, b in ipairs(byte_list(tvb, 0, body_len)) do msg[#msg + 1] = b end
	msg[#msg + 1] = tvb(body_len, 1):uint()
	return msg
end

local function add_trailer(tree, tvb, body_len)
	local range = tvb(body_len, TRAILER_LEN)
	local sub = tree:add(f_auth, range)
	local id = tvb(body_len, 1):uint()
	sub:add(f_key_id, tvb(body_len, 1))
	local tag_item = sub:add(f_tag, tvb(body_len + 1, TAG_LEN))
	if not key_secret then
		sub:add(f_tag_status, range, 2):set_generated()
		tag_item:add_proto_expert_info(ex.unverified, "Tag not verified: set the key preference (vwrp.key, ID:SECRET)")
		return "unverified"
	elseif id ~= key_id then
		sub:add(f_tag_status, range, 2):set_generated()
		tag_item:add_proto_expert_info(ex.unverified, string.format(
			"UnknownKey(%d): tag not verified, the key preference (vwrp.key) has key id %d", id, key_id))
		return "unknown key"
	end
	local expected = hmac_sha256(key_secret, covered(tvb, body_len))
	if hex(expected) == hex(byte_list(tvb, body_len + 1, TAG_LEN)) then
		sub:add(f_tag_status, range, 1):set_generated()
		return "good"
	end
	sub:add(f_tag_status, range, 0):set_generated()
	sub:add(f_tag_expected, range, string.char((table.unpack or unpack)(expected))):set_generated()
	tag_item:add_proto_expert_info(ex.bad_tag, "BadTag: the tag does not match the key preference's secret")
	return "bad"
end

function vwrp.dissector(tvb, pinfo, tree)
	local len = tvb:len()
	pinfo.cols.protocol = "VWRP"
	local root = tree:add(vwrp, tvb())
	if len < HEADER_LEN then
		root:add(f_data, tvb())
		root:add_proto_expert_info(ex.truncated, string.format("Truncated: %d bytes, the header alone is %d", len, HEADER_LEN))
		pinfo.cols.info = "vwrp, truncated"
		return len
	end
	local version = tvb(OFF.version, 1):uint()
	local tlv_len = tvb(OFF.tlv_length, 2):uint()
	local auth = band(tvb(OFF.flags, 1):uint(), 0x01) ~= 0
	local body_len = HEADER_LEN + tlv_len
	local pdu_len = body_len + (auth and TRAILER_LEN or 0)
	local problems = {}

	if pdu_len > len then
		root:add_proto_expert_info(ex.truncated, string.format(
			"Truncated: header, %d bytes of TLVs%s make %d bytes, the frame has %d",
			tlv_len, auth and " and the trailer" or "", pdu_len, len))
		problems[#problems + 1] = "Truncated"
	end
	if version ~= VERSION then
		root:add(HEADER[1].pf, tvb(OFF.version, 1))
		root:add(f_data, tvb(OFF.version + 1))
		root:add_proto_expert_info(ex.version, string.format(
			"UnknownVersion(%d): this dissector and version-2 receivers read version 2 only", version))
		pinfo.cols.info = string.format("vwrp version %d (not decoded)", version)
		return len
	end

	-- The header.
	local h = {}
	for _, spec in ipairs(HEADER) do
		h[spec[1]] = add_field(root, tvb, OFF[spec[1]], spec.size, spec, function(item, why, v)
			local err = string.format(spec.err, v)
			item:add_proto_expert_info(ex.header, err .. ": " .. why)
			problems[#problems + 1] = err
		end)
	end

	local tlvs = {}
	if pdu_len > len then
		if len > HEADER_LEN then root:add(f_data, tvb(HEADER_LEN)) end
	else
		tlvs = add_tlvs(root, tvb, HEADER_LEN, body_len, problems)
		local ho = tlvs.handover ~= nil
		local kind = MESSAGE_TYPES[h.type]
		if h.type >= 2 and h.type <= 4 and not ho then
			root:add_proto_expert_info(ex.handover, kind .. " without a HANDOVER TLV: receivers ignore it")
		elseif (h.type == 1 or h.type == 5) and ho then
			root:add_proto_expert_info(ex.handover, kind .. " with a HANDOVER TLV: only OFFER, READY and DONE carry one")
		end
		local tag
		if auth then
			tag = add_trailer(root, tvb, body_len)
			if tag == "bad" then problems[#problems + 1] = "BadTag" end
			if tag == "unknown key" then problems[#problems + 1] = "UnknownKey" end
		elseif key_secret then
			root:add_proto_expert_info(ex.unauthenticated,
				"Unauthenticated: no trailer, and a key is set (receivers with keys refuse this frame)")
		end
		if #problems == 0 then
			if not pinfo.visited then
				replay_verdicts[pinfo.number] = replay_check(h.router_id, h.epoch, h.sequence) or false
			end
			local replayed = replay_verdicts[pinfo.number]
			if replayed then root:add_proto_expert_info(ex.replayed, replayed) end
		end
	end

	-- Summary line and Info column.
	local kind = MESSAGE_TYPES[h.type] or ("type " .. h.type)
	local state = STATES[h.state] or ("state " .. h.state)
	local info = string.format("%s from 0x%08x, %s, priority %d/%d, seq %d",
		kind, h.router_id, state, h.priority, h.effective_priority, h.sequence)
	if band(h.flags, 0x08) ~= 0 then info = info .. ", WAN" end
	if tlvs.handover then
		info = info .. string.format(", handover 0x%08x to 0x%08x (%s)", tlvs.handover.id,
			tlvs.handover.target, REASONS[tlvs.handover.reason] or tlvs.handover.reason)
	end
	if #problems > 0 then info = info .. " [" .. table.concat(problems, ", ") .. "]" end
	root:append_text(", " .. kind .. " from " .. string.format("0x%08x", h.router_id) .. " (" .. state .. ")")
	pinfo.cols.info = info
	return math.min(pdu_len, len)
end

DissectorTable.get("ethertype"):add(DEFAULT_ETHERTYPE, vwrp)
