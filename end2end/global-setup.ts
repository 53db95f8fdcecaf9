import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PORT } from './playwright.config';

export const FAPI_SIMULATOR_PORT = PORT + 1;
export const SMARTEMAILING_SIMULATOR_PORT = PORT + 2;
export const SMTP_PORT = PORT + 3;

/** Starts the tests' SMTP server (aiosmtpd, tests/support/smtp_sink.py), which writes every
 * message it receives as JSON into `folder`; resolves once it listens. */
function startSmtpSink(root: string, folder: string): Promise<ChildProcess> {
  const python = process.env.FAPI_BRIDGE_TEST_PYTHON ?? 'python3';
  const script = path.join(root, 'tests', 'support', 'smtp_sink.py');
  const child = spawn(python, [script, '--folder', folder, '--port', String(SMTP_PORT)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk) => process.stderr.write(chunk));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`SMTP sink did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('PORT ')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`SMTP sink exited with ${code}:\n${output}`)));
  });
}

/** Starts `fapi-bridge simulate <api>` and resolves once it listens. */
function startSimulator(binary: string, api: string, port: number): Promise<ChildProcess> {
  const child = spawn(binary, ['simulate', api, '--listen', `127.0.0.1:${port}`, '--orders', '600'], {
    env: { PATH: process.env.PATH, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk) => process.stderr.write(chunk));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${api} simulator did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`${api} simulator exited with ${code}:\n${output}`)));
  });
}

// Starts the real server binary (built by `cargo leptos build`) on a throw-away database and
// hands the first-admin setup link it prints to the tests through SETUP_LINK.
export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = path.resolve(__dirname, '..');
  const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
  const binary = path.join(targetDir, 'debug', 'fapi-bridge');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fapi-bridge-e2e-'));

  // The FAPI and SmartEmailing simulators, served by the same binary, and an SMTP server.
  const mailDir = path.join(dataDir, 'mail');
  const simulators = await Promise.all([
    startSimulator(binary, 'fapi', FAPI_SIMULATOR_PORT),
    startSimulator(binary, 'smartemailing', SMARTEMAILING_SIMULATOR_PORT),
    startSmtpSink(root, mailDir),
  ]);
  process.env.MAIL_DIR = mailDir;

  const server: ChildProcess = spawn(binary, ['serve'], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH,
      RUST_LOG: process.env.E2E_RUST_LOG ?? 'warn',
      DATABASE_URL: `sqlite://${path.join(dataDir, 'e2e.db')}`,
      SECRET_KEY_FILE: path.join(dataDir, 'secret.key'),
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      // scripts/test builds the server with the site inside it (embed-site) and starts it in
      // an empty folder, so these tests cover the one-file deploy. E2E_SITE_ROOT=target/site
      // serves the site folder instead (after a plain `cargo leptos build`).
      ...(process.env.E2E_SITE_ROOT ? { LEPTOS_SITE_ROOT: path.resolve(root, process.env.E2E_SITE_ROOT) } : {}),
      FAPI_API_URL: `http://127.0.0.1:${FAPI_SIMULATOR_PORT}`,
      SMARTEMAILING_API_URL: `http://127.0.0.1:${SMARTEMAILING_SIMULATOR_PORT}/api/v3`,
      HTTP_TIMEOUT: '5s',
      HTTP_RETRY_DELAY: '10ms',
      SYNC_MAX_ATTEMPTS: '2',
      SYNC_RETRY_DELAY: '1s',
      // 05-reminders moves the server's clock to make a reminder due.
      TEST_CLOCK: 'true',
      // 06-contacts: the buyers of the back-fill are looked up one by one.
      SMARTEMAILING_REQUESTS_PER_SECOND: '200',
      // 09-alerts: alerts by e-mail, to the tests' SMTP server.
      SMTP_URL: `smtp://127.0.0.1:${SMTP_PORT}?tls=none`,
      EMAIL_FROM: 'fapi-bridge <bridge@example.cz>',
      ALERT_CHECK_INTERVAL: '500ms',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr?.on('data', (chunk) => process.stderr.write(chunk));

  const setupLink = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    server.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/http:\/\/\S+\/setup\?token=[0-9a-f]+/);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  process.env.SETUP_LINK = setupLink;

  return async () => {
    for (const child of [server, ...simulators]) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    if (process.env.E2E_KEEP_DATA) {
      console.log(`e2e data kept in ${dataDir}`);
    } else {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
}
