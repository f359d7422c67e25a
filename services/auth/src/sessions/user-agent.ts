import Bowser from 'bowser';
import { MAX_USER_AGENT } from './codec.js';

/** "Chrome 120 on macOS": what a session list shows, at a fraction of a raw header's bytes. */
export function summariseUserAgent(header: string): string {
  if (!header) return '';
  try {
    const r = Bowser.parse(header);
    const browser = [r.browser.name, r.browser.version?.split('.')[0]].filter(Boolean).join(' ');
    const os = r.os.name ?? '';
    const text = browser && os ? `${browser} on ${os}` : browser || os;
    if (text) return text.slice(0, MAX_USER_AGENT);
  } catch {
    // Unparseable headers fall through to the truncated raw value.
  }
  return header.slice(0, MAX_USER_AGENT);
}
