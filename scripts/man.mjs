// Builds man/iptkit.1 from what the command itself says — `iptkit --help`, each command's and
// docker subcommand's --help, the package's description and the README's exit codes — so that
// the page and the help never disagree. `npm run man` (after a build) writes it;
// test/unit/man.test.ts fails when the committed page is not what this makes.

import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

/** Text for roff: a backslash and a hyphen as themselves, a line never read as a request. */
function roff(text) {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1')
    // groff reads ASCII: anything else (the help's …) as its Unicode escape.
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** `code` in the README's Markdown, in bold. */
function markdown(text) {
  return roff(text).replace(/`([^`]*)`/g, '\\fB$1\\fR');
}

function preformatted(text) {
  return `.nf\n${roff(text.replace(/\n+$/, ''))}\n.fi\n`;
}

/** The README's exit codes, one `.TP` per status. */
function exitStatus(readme) {
  const m = /^- Exit codes: ([\s\S]*?)\n(?=\S|\n)/m.exec(readme);
  if (!m) throw new Error("README.md has no '- Exit codes:' item");
  const text = m[1].replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
  return text
    .split(/; (?=\d+ )/)
    .map((item) => {
      const [, status, meaning] = /^(\d+) (.*)$/.exec(item);
      return `.TP\n.B ${status}\n${markdown(meaning)}\n`;
    })
    .join('');
}

/**
 * The page. `main` is the command's main() (src/ or dist/), `dockerCommands` the docker
 * subcommands' names.
 */
export async function manPage(main, dockerCommands) {
  const help = async (...argv) => {
    let out = '';
    const code = await main([...argv, '--help'], { out: (t) => void (out += t), err: (t) => void (out += t) });
    if (code !== 0) throw new Error(`iptkit ${argv.join(' ')} --help exited ${code}: ${out}`);
    return out;
  };
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const usage = await help();
  const [synopsis, rest] = usage.split(/\n(?=common options:)/);
  const common = rest.replace(/\n'iptkit COMMAND[\s\S]*$/, '').replace(/^common options:\n/, '');
  // recover has no help of its own: its line of the overview says it.
  const recover = usage.split('\n').find((l) => /^ {2}recover /.test(l));

  let page = `.TH IPTKIT 1 "" "iptkit ${pkg.version}" "User Commands"
.\\" Made by scripts/man.mjs from the command's own help; do not edit.
.SH NAME
iptkit \\- ${roff(pkg.description.replace(/^Read/, 'read'))}
.SH SYNOPSIS
${preformatted(synopsis)}.SH DESCRIPTION
.B iptkit
lists, saves and restores netfilter tables as
.BR iptables (8),
.BR iptables\\-save (8)
and
.BR iptables\\-restore (8)
do, on the legacy x_tables back end (the kernel's IPT_SO_* socket options, holding the xtables lock) and on
nf_tables (over netlink, in the form
.B iptables\\-nft
writes), committing all tables of one input at once, and models Docker's chains above that.
.SH COMMANDS
`;
  for (const command of ['list', 'save', 'restore']) page += `.SS ${command}\n${preformatted(await help(command))}`;
  page += `.SS recover\n${preformatted(recover.trim())}`;
  page += `.SS docker\n${preformatted(await help('docker'))}`;
  for (const sub of dockerCommands) page += `.SS "docker ${sub}"\n${preformatted(await help('docker', sub))}`;
  page += `.SS completion\n${preformatted(await help('completion'))}`;
  page += `.SH OPTIONS
These options apply to every command that opens the kernel's tables (docker commands work on
both families and take no \\-4/\\-6).
.PP
${preformatted(common)}.SH EXIT STATUS
${exitStatus(readme)}.SH ENVIRONMENT
.TP
.B XTABLES_LOCKFILE
the xtables lock file the legacy back end holds from read to commit, as
.B iptables \\-w
does (default /run/xtables.lock)
.SH FILES
.TP
.B /var/run/netns/NAME
the network namespace \\-\\-netns NAME enters (as made by
.BR ip\\-netns (8))
.TP
.B /run/iptkit
intent records of legacy multi\\-table commits, which
.B iptkit recover
finishes or rolls back
.SH SEE ALSO
.BR iptables (8),
.BR iptables\\-save (8),
.BR iptables\\-restore (8),
.BR xtables\\-nft (8),
.BR ip\\-netns (8),
.BR nft (8)
`;
  return page;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const { main } = await import('../dist/src/cli/main.js');
  const { SUBCOMMANDS } = await import('../dist/src/cli/docker-commands.js');
  writeFileSync(`${root}/man/iptkit.1`, await manPage(main, Object.keys(SUBCOMMANDS)));
}
