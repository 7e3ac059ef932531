// Shared by the browser flows: Debian's Chromium through playwright-core
// (never a downloaded browser), screenshots, sign-in with the code the
// `--dev` server returns, and the place picker.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

export const timeout = 20000;

// What each page went through (its socket, its console, its addresses),
// told with its last screen when a flow fails, so that a failure in CI
// says what the person would have seen.
const started = Date.now();
const pages = [];
const report = [];
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

export async function launch(shots) {
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--lang=fr-FR", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    for (const [index, { page, events }] of pages.entries()) {
      if (page.isClosed()) continue;
      const shot = `${shots}/last-screen-${process.pid}-${index + 1}.png`;
      const text = await page.screenshot({ path: shot, fullPage: true, timeout: 5000 })
        .then(() => page.evaluate(() => document.body.innerText), () => "")
        .catch((error) => `(not read: ${error.message})`);
      const frames = events.frames ? `frames: ${events.frames.sent} sent, ${events.frames.received} received, last ${events.frames.last}` : "no socket";
      report.push(`--- page ${index + 1} at ${page.url()} (${shot}), what it went through:`,
        ...events, frames, `--- what it showed at ${since()}:`, text);
    }
    await close();
  };
  return browser;
}

process.on("exit", (code) => {
  if (code !== 0 && report.length) console.error(report.join("\n"));
});

// What the page's Content-Security-Policy blocked, in any flow: a flow with
// one fails, even if the screens still worked.
const violations = [];
process.on("exit", () => {
  if (violations.length) {
    console.error("blocked by the Content-Security-Policy:\n" + violations.join("\n"));
    process.exitCode = 1;
  }
});

export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 420, height: 860 }, locale: "fr-FR", ...options });
  const page = await context.newPage();
  const events = [];
  pages.push({ page, events });
  const note = (what) => events.push(`${since()} ${what}`);
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) note(`address ${frame.url()}`); });
  page.on("websocket", (socket) => {
    note(`socket opened ${socket.url()}`);
    const frames = { sent: 0, received: 0, last: "" };
    socket.on("framesent", () => { frames.sent += 1; frames.last = `sent at ${since()}`; });
    socket.on("framereceived", () => { frames.received += 1; frames.last = `received at ${since()}`; });
    events.frames = frames;
    socket.on("close", () => note(`socket closed (${frames.sent} sent, ${frames.received} received)`));
    socket.on("socketerror", (error) => note(`socket error ${error}`));
  });
  page.on("pageerror", (error) => note(`page error ${error.message}`));
  page.on("requestfailed", (request) => note(`request failed ${request.url()} ${request.failure()?.errorText}`));
  page.on("console", (message) => {
    note(`console ${message.type()}: ${message.text()}`);
    if (/Content Security Policy|Refused to (execute|load|connect|apply|frame|create)/.test(message.text())) {
      violations.push(message.text());
    }
  });
  return page;
}

export function shooter(shots, prefix = "") {
  let step = 0;
  return async (page, name) => {
    step += 1;
    await page.screenshot({ path: `${shots}/${prefix}${String(step).padStart(2, "0")}-${name}.png`, fullPage: true });
  };
}

// Signs in on the home screen; a first sign-in is asked a name, `name`.
export async function signIn(base, page, contact, name = "Camille T.") {
  await page.goto(base + "/");
  await page.waitForSelector("#contact", { timeout });
  await page.fill("#contact", contact);
  await page.click("#ask-code");
  // The server runs with --dev: the code comes back and fills the field.
  await page.waitForFunction(() => document.querySelector("#code")?.value?.length === 6, null, { timeout });
  await page.click("#sign-in");
  await page.locator("#go-ride").or(page.locator("#welcome-name")).first().waitFor({ timeout });
  if (await page.locator("#welcome-name").isVisible()) {
    await page.fill("#welcome-name", name);
    await page.click("#save-name");
  }
  await page.waitForSelector("#go-ride", { timeout });
}

// Types `typed` in the place field `input` and takes the place `label`:
// from the suggestions, or at once when what is typed names it in full.
export async function pickPlace(page, input, typed, label) {
  await page.fill(input, typed);
  const chosen = page.locator(`${input} + p.chosen`, { hasText: label });
  const choice = page.locator(".suggestions button", { hasText: label }).first();
  await choice.or(chosen).first().waitFor({ timeout });
  if (!(await chosen.isVisible())) await choice.click();
  await chosen.waitFor({ timeout });
}

// From the relay's space, opens the person called `name` (or the first one
// listed): her screen, with « Demander un trajet pour cette personne ».
export async function openPerson(page, name) {
  await page.click("#go-relay");
  const cards = page.locator(".card.person", name ? { hasText: name } : {});
  const person = cards.first();
  await person.waitFor({ timeout });
  await person.locator("button", { hasText: "Ouvrir" }).click();
  await page.waitForSelector("#request-for", { timeout });
}

// Taps « Retour » and waits for the screen it leads to (`arrived`, a
// selector): a second tap sent before the first has shown its screen would
// land on the old button and be lost.
export async function back(page, arrived) {
  await page.locator("button.back").click();
  await page.waitForSelector(arrived, { timeout });
}
