//! No allocation on the steady-state hello path (issue 21): on a 580 MHz
//! router the hello is the daemon's whole budget, and the allocator is
//! a measurable part of it. Three engines, an active holding a lease (an
//! IPv4 one; then also a DHCPv6 binding, IA_NA and IA_PD with DNS servers,
//! as the DHCPv6 client and router advertisements hand it over) and two
//! standbys, exchange hellos at 10 ms on a virtual clock; after they have
//! settled, a counting global allocator (this test binary's only) counts
//! what each one allocates over 1,000 of its hello rounds (a standby speaks
//! at its slow pace, so that is 4,000 of the active's): the hellos it
//! builds and frames, the ones it receives, parses and checks (the active's
//! with the leases, the other standby's without), the permit refreshes. The frames' buffers go back to the engine once "sent", as the
//! daemon hands them back.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vwrp::engine::{Action, Engine, Path, STANDBY_PACE, Settings, State};
use vwrp::time::{Instant, ms};
use vwrp::wire::{Ia6, Lease4, Lease6, Server6};

struct Counting;

thread_local! {
    /// Allocations (and reallocations) made by this thread so far.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // try_with: a thread being torn down has no thread-locals left.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const HELLO: Duration = ms(10);

fn settings(id: u32, priority: u8, dhcpv6: bool) -> Settings {
    Settings {
        hello_interval: HELLO,
        wan_hello_interval: Some(HELLO),
        dhcpv6,
        router_advert: dhcpv6,
        ..Settings::for_tests(id, priority)
    }
}

fn lease() -> Lease4 {
    Lease4 {
        address: Ipv4Addr::new(203, 0, 113, 10),
        prefix_len: 24,
        gateway: Ipv4Addr::new(203, 0, 113, 1),
        server_id: Ipv4Addr::new(203, 0, 113, 1),
        lease_time: 86_400,
        valid_left: 86_400,
        renew_left: 43_200,
        rebind_left: 75_600,
        dns: vec![Ipv4Addr::new(203, 0, 113, 53), Ipv4Addr::new(203, 0, 113, 54)],
    }
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().expect("an IPv6 address")
}

/// A binding as `wire::dhcpv6` makes it of a REPLY, with the client's
/// identity the DHCPv6 client adds.
fn lease6() -> Lease6 {
    let ia = |a: &str, prefix_len| Ia6 { address: ip6(a), prefix_len, preferred_left: 14_400, valid_left: 86_400 };
    Lease6 {
        addresses: vec![ia("2001:db8:0:1::10", 128)],
        prefixes: vec![ia("2001:db8:100::", 56)],
        dns: vec![ip6("2001:db8::53"), ip6("2001:db8::54")],
        gateway: None,
        duid: Some((1, vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1])),
        server: Some(Server6 {
            duid: vec![0, 1, 0, 1, 0x2e, 0x1f, 0, 1, 2, 0, 0, 0, 0, 0xfe],
            renew_left: 7_200,
            rebind_left: 11_520,
        }),
    }
}

/// An active and two standbys: a standby hears the other standby's hellos
/// (no lease in them) between the active's.
const ROUTERS: usize = 3;

/// The routers on one control link and one WAN segment.
struct Group {
    r: [Engine; ROUTERS],
    now: Instant,
    /// Allocations made inside each engine's calls.
    allocs: [u64; ROUTERS],
    /// Hello frames each one sent on the control link: one to each peer
    /// a round.
    hellos: [u64; ROUTERS],
}

impl Group {
    /// Carries out `from`'s actions: frames go to every other router (a
    /// unicast one is dropped by those it is not for, as a flooding switch
    /// makes them), their buffers come back to the sender; Prepare is done
    /// at once.
    fn deliver(&mut self, from: usize) {
        while let Some(a) = self.call(from, |e, _| e.poll_action()) {
            match a {
                Action::Send { path, frame } => {
                    if path != Path::Wan {
                        self.hellos[from] += 1;
                    }
                    for to in (0..ROUTERS).filter(|&to| to != from) {
                        self.call(to, |e, now| e.handle_frame(now, path, &frame));
                    }
                    self.call(from, |e, _| e.recycle(frame));
                }
                Action::Prepare => self.call(from, |e, now| e.handle_prepared(now)),
                _ => {}
            }
        }
    }

    /// Runs `f` on router `i`, counting what it allocates.
    fn call<T>(&mut self, i: usize, f: impl FnOnce(&mut Engine, Instant) -> T) -> T {
        let before = allocations();
        let out = f(&mut self.r[i], self.now);
        self.allocs[i] += allocations() - before;
        out
    }

    /// Advances the clock to each deadline in turn, up to `until`.
    fn run_until(&mut self, until: Instant) {
        loop {
            let next = self.r.iter().filter_map(Engine::poll_timeout).min().expect("engines have deadlines");
            if next > until {
                self.now = until;
                return;
            }
            self.now = next;
            for i in 0..ROUTERS {
                if self.r[i].poll_timeout().is_some_and(|t| t <= next) {
                    self.call(i, |e, now| e.handle_timeout(now));
                }
                for from in 0..ROUTERS {
                    self.deliver(from);
                }
            }
        }
    }
}

/// Settles an active (router 1, holding the leases) and two standbys,
/// then counts what each allocates over 1,000 hello rounds of its own at
/// least. Returns the allocations and the hellos sent, active first.
fn steady_state(dhcpv6: bool) -> ([u64; ROUTERS], [u64; ROUTERS]) {
    let start = Instant::from_millis(0);
    let router = |i: u32, priority| Engine::new(settings(i, priority, dhcpv6), i * 11, start);
    let mut p = Group {
        r: [router(1, 200), router(2, 100), router(3, 50)],
        now: start,
        allocs: [0; ROUTERS],
        hellos: [0; ROUTERS],
    };
    let settled = [State::Active, State::Standby, State::Standby];
    p.run_until(start.plus(Duration::from_secs(1)));
    assert_eq!(p.r.each_ref().map(Engine::state), settled);
    let now = p.now;
    p.call(0, |e, now| e.handle_lease(now, lease(), Some(vec![1, 2, 0, 0, 0, 0, 1])));
    if dhcpv6 {
        p.call(0, |e, now| e.handle_lease6(now, lease6()));
        p.call(0, |e, now| e.handle_gateway6(now, ip6("fe80::1"), 1800));
    }
    p.deliver(0);
    // Past the discovery burst and the first lease announcements.
    p.run_until(now.plus(Duration::from_secs(3)));

    (p.allocs, p.hellos) = ([0; ROUTERS], [0; ROUTERS]);
    // The slow pace is a standby's most: a little more than 1,000 of it.
    p.run_until(p.now.plus(HELLO * 1050 * STANDBY_PACE));
    assert_eq!(p.r.each_ref().map(Engine::state), settled, "still settled");
    let rounds = p.hellos.map(|h| h / (ROUTERS as u64 - 1));
    assert!(rounds.iter().all(|&r| r >= 1000), "1,000 hello rounds at least each: {rounds:?}");
    if dhcpv6 {
        for standby in &p.r[1..] {
            let learned = standby.lease6().map(|b| (b.wire.prefixes.len(), b.wire.dns.len(), b.wire.gateway));
            assert_eq!(learned, Some((1, 2, Some(ip6("fe80::1")))), "a standby learned the binding from the hellos");
        }
    }
    (p.allocs, p.hellos)
}

#[test]
fn steady_state_hellos_allocate_nothing() {
    let (allocs, hellos) = steady_state(false);
    assert_eq!(
        allocs, [0; ROUTERS],
        "allocations over {hellos:?} hellos sent (to each peer) by the active and the standbys"
    );
}

/// The same with a DHCPv6 binding: its TLVs in every hello of the active,
/// learned from each by the standby.
#[test]
fn steady_state_hellos_with_dhcpv6_allocate_nothing() {
    let (allocs, hellos) = steady_state(true);
    assert_eq!(
        allocs, [0; ROUTERS],
        "allocations over {hellos:?} hellos sent (to each peer) by the active and the standbys"
    );
}
