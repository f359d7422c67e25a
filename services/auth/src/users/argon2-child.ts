// The password hasher process (argon2-runner.ts, ProcessRunner). It lowers its own priority before
// any argon2 work. On Linux nice values and scheduling policies belong to threads, and the libuv
// pool threads argon2 runs on are created later by this main thread, so they inherit both.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { inlineRunner, type ChildReply, type ChildRequest } from './argon2-runner.js';

/** This process's threads, where /proc lists them (V8's platform workers started before this line). */
function threads(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [process.pid];
  }
}

function lowerNice(nice: number): void {
  if (nice <= 0) return;
  try {
    for (const tid of threads()) setPriority(tid, nice);
  } catch (err) {
    process.stderr.write(`argon2 child: cannot lower priority: ${(err as Error).message}\n`);
  }
}

/**
 * SCHED_IDLE: the kernel runs these threads only when no normal thread wants the CPU, and a waking
 * normal thread (the event loop with a request) takes the CPU from them at once; a nice value
 * only shrinks their share. Node has no binding for sched_setscheduler, so util-linux's chrt sets
 * it; no privilege is needed to lower one's own policy. Without chrt the nice value stays.
 */
function idlePolicy(): boolean {
  try {
    execFileSync('chrt', ['--all-tasks', '--idle', '--pid', '0', String(process.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    process.stderr.write(`argon2 child: SCHED_IDLE not set (${(err as Error).message.split('\n')[0]}); running at nice ${getPriority()}\n`);
  }
  return policyOf(process.pid) === 'idle';
}

/** Field 41 of /proc/<tid>/stat; 5 is SCHED_IDLE. */
function policyOf(tid: number): 'idle' | 'other' {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38] === '5' ? 'idle' : 'other';
  } catch {
    return 'other';
  }
}

lowerNice(Number(process.env.ARGON2_CHILD_NICE ?? 0));
const idle = process.env.ARGON2_CHILD_IDLE === 'true' && idlePolicy();

const reply = (m: ChildReply) => process.send?.(m);

// The same argon2 calls as ARGON2_RUNNER=inline, so both runners hash and verify alike.
const local = inlineRunner();

process.on('message', (req: ChildRequest) => {
  const work = req.op === 'hash' ? local.hash(req.password, req.params) : local.verify(req.hash, req.password);
  work.then(
    (value) => reply({ type: 'done', id: req.id, value }),
    (err: Error) => reply({ type: 'failed', id: req.id, message: err.message }),
  );
});
// Ctrl-C reaches the whole process group; the parent decides when the hasher stops (close()),
// after the logins it is draining have their answers.
process.on('SIGINT', () => {});
// The parent is gone (crash, SIGKILL): so is the reason to exist.
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready', nice: getPriority(), policy: idle ? 'idle' : 'other' });
