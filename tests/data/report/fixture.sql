-- fixture.sql: the rows of the report suite's results database (tests/check_report.c). The
-- schema comes from store_open() (sim/store.c); this file only inserts, as store_finish_run
-- would have. Four runs:
--   aaaaaaaa...  fixture, complete, older (not the latest)
--   01234567...  fixture, complete, the latest complete run: two arms, every table filled
--   bbbbbbbb...  fixture, still 'running' (started last; has no results)
--   cccccccc...  other, complete: two arms whose timelines differ, one arm without series
BEGIN;

INSERT INTO runs (run_id, scenario, path, scenario_text, scenario_hash, seed, overrides, version,
                  plugin_hashes, host, started_at, finished_at, status, duration_ns,
                  expectations_failed) VALUES
  ('aaaaaaaa000000000000000000000000', 'fixture', 'tests/fixture.scn', 'duration = 1s
', '0000000000000001', 7, '', '0.1.0', '', 'testhost', '2025-01-01T00:00:00.000Z',
   '2025-01-01T00:00:01.000Z', 'complete', 1000000000, 0),
  ('0123456789abcdef0123456789abcdef', 'fixture', 'tests/fixture.scn', '# the fixture: a < b & c | d
duration = 2s
arm ideal { policy = ideal }
arm gtsc-resume { policy = gtsc-resume }
expect ideal.warps == 0
', '0000000000000002', 42, 'sched.quantum=2ms', '0.1.0', '', 'testhost',
   '2025-01-02T00:00:00.000Z', '2025-01-02T00:00:02.000Z', 'complete', 2000000000, 1),
  ('bbbbbbbb000000000000000000000000', 'fixture', 'tests/fixture.scn', 'duration = 2s
', '0000000000000003', 42, '', '0.1.0', '', 'testhost', '2025-01-03T00:00:00.000Z', NULL,
   'running', 2000000000, NULL),
  ('cccccccc000000000000000000000000', 'other', 'tests/other.scn', 'duration = 1s
', '0000000000000004', 9, '', '0.1.0', '', 'testhost', '2025-01-01T12:00:00.000Z',
   '2025-01-01T12:00:01.000Z', 'complete', 1000000000, 0);

INSERT INTO arms (run_id, arm, ord, policy, page, reader, options, host_tsc_stable,
                  host_clocksource, host_tsc_khz, series_interval_ns, violations_dropped,
                  timeline_dropped) VALUES
  ('aaaaaaaa000000000000000000000000', 'ideal', 0, 'ideal', 'none', 'tsc', '', 1, 'tsc',
   3000000, 10000000, 0, 0),
  ('0123456789abcdef0123456789abcdef', 'ideal', 0, 'ideal', 'none', 'tsc', '', 0, 'hpet',
   3000041, 500000000, 0, 0),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 1, 'gtsc-resume', 'none', 'tsc', '', 0,
   'hpet', 3000041, 500000000, 3, 0),
  ('cccccccc000000000000000000000000', 'a', 0, 'ideal', 'none', 'tsc', '', 1, 'tsc', 3000000,
   10000000, 0, 0),
  ('cccccccc000000000000000000000000', 'b', 1, 'tsc-offset', 'none', 'tsc',
   'host.cpu.offset=0', 1, 'tsc', 3000000, 10000000, 0, 2);

-- Metrics: one row per (arm, metric); drift_ppm is REAL, the rest INTEGER; facts have unit
-- 'fact'. Chosen so that each arm is best somewhere: reads (higher is better) and
-- max_forward_jump_ns go to gtsc-resume, final_error_ns and drift_ppm by magnitude to ideal,
-- fallbacks tie (no bold).
INSERT INTO metrics (run_id, arm, metric, value, unit) VALUES
  ('aaaaaaaa000000000000000000000000', 'ideal', 'reads', 500, ''),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'reads', 1000, ''),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'fallbacks', 0, ''),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'warps', 0, ''),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'worst_warp_ns', 0, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'stalls', 0, ''),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'backsteps', 0, ''),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'max_backstep_ns', 0, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'max_forward_jump_ns', 10, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'max_abs_error_ns', 1, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'rms_error_ns', 1, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'final_error_ns', -1, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'drift_ppm', 0.0, 'ppm'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'lost_time_ns', 0, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'max_vcpu_skew_ns', 0, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'masterclock', 1, 'fact'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'reads', 1200, ''),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'fallbacks', 0, ''),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'warps', 5, ''),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'worst_warp_ns', 2500000, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'stalls', 2, ''),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'backsteps', 0, ''),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'max_backstep_ns', 0, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'max_forward_jump_ns', 3, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'max_abs_error_ns', 3000000, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'rms_error_ns', 1500000, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'final_error_ns', -2900000, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'drift_ppm', -1450.125, 'ppm'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'lost_time_ns', 2950000, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'max_vcpu_skew_ns', 400000, 'ns'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'masterclock', 0, 'fact'),
  ('cccccccc000000000000000000000000', 'a', 'reads', 10, ''),
  ('cccccccc000000000000000000000000', 'a', 'warps', 0, ''),
  ('cccccccc000000000000000000000000', 'b', 'reads', 10, ''),
  ('cccccccc000000000000000000000000', 'b', 'warps', 1, '');

-- Series: 4 samples of each of 2 vCPUs per arm (guest_ns = t_ns + error_ns).
INSERT INTO series (run_id, arm, vcpu, t_ns, guest_ns, error_ns) VALUES
  ('0123456789abcdef0123456789abcdef', 'ideal', 0, 0, 0, 0),
  ('0123456789abcdef0123456789abcdef', 'ideal', 1, 0, 0, 0),
  ('0123456789abcdef0123456789abcdef', 'ideal', 0, 500000000, 500000001, 1),
  ('0123456789abcdef0123456789abcdef', 'ideal', 1, 500000000, 499999999, -1),
  ('0123456789abcdef0123456789abcdef', 'ideal', 0, 1000000000, 999999999, -1),
  ('0123456789abcdef0123456789abcdef', 'ideal', 1, 1000000000, 1000000000, 0),
  ('0123456789abcdef0123456789abcdef', 'ideal', 0, 1500000000, 1500000000, 0),
  ('0123456789abcdef0123456789abcdef', 'ideal', 1, 1500000000, 1500000001, 1),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 0, 0, 0, 0),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 1, 0, 0, 0),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 0, 500000000, 499000000, -1000000),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 1, 500000000, 499600000, -400000),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 0, 1000000000, 998000000, -2000000),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 1, 1000000000, 998400000, -1600000),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 0, 1500000000, 1497100000, -2900000),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 1, 1500000000, 1497000000, -3000000),
  ('cccccccc000000000000000000000000', 'a', 0, 0, 5, 5),
  ('cccccccc000000000000000000000000', 'a', 0, 500000000, 500000007, 7);

INSERT INTO violations (run_id, arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns,
                        delta_ns, context) VALUES
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'warp', 600000000, 1, 0, 0, 599000000,
   598600000, -400000, 'lock chain after vCPU 0'),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'warp', 1100000000, 0, 1, 1, 1098500000,
   1098000000, -500000, 'hop chain after vCPU 1'),
  ('0123456789abcdef0123456789abcdef', NULL, 'expectation', NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, 'gtsc-resume.lost_time_ns < 1ms');

-- The same load in both arms of the fixture run; different loads in the other run.
INSERT INTO timeline (run_id, arm, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu) VALUES
  ('0123456789abcdef0123456789abcdef', 'ideal', 'migration', 100000000, 50000, 0, 0, 1),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'stall', 300000000, 13000, 1, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'io-exit', 400000000, 20000, 0, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'migration', 700000000, 250000, 1, 1, 0),
  ('0123456789abcdef0123456789abcdef', 'ideal', 'pause', 1200000000, 100000000, NULL, NULL,
   NULL),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'migration', 100000000, 50000, 0, 0, 1),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'stall', 300000000, 13000, 1, NULL,
   NULL),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'io-exit', 400000000, 20000, 0, NULL,
   NULL),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'migration', 700000000, 250000, 1, 1, 0),
  ('0123456789abcdef0123456789abcdef', 'gtsc-resume', 'pause', 1200000000, 100000000, NULL,
   NULL, NULL),
  ('cccccccc000000000000000000000000', 'a', 'stall', 100000000, 1000000, 0, NULL, NULL),
  ('cccccccc000000000000000000000000', 'b', 'migration', 200000000, 30000, 0, 0, 1);

INSERT INTO expectations (run_id, ord, text, held, lhs, rhs) VALUES
  ('0123456789abcdef0123456789abcdef', 0, 'ideal.warps == 0', 1, 0, 0),
  ('0123456789abcdef0123456789abcdef', 1, 'gtsc-resume.warps > 0', 1, 5, 0),
  ('0123456789abcdef0123456789abcdef', 2, 'gtsc-resume.lost_time_ns < 1ms', 0, 2950000,
   1000000);

COMMIT;
