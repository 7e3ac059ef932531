// The connection drops while a passenger fills in a need (the server
// restarts): the page says so calmly, comes back by itself on the same
// screen with what she typed, still signed in, and the need goes through.
// The test runner restarts the server when told on stdout
// ("stop-server", then "start-server"), and answers on stdin.
// Usage: node reconnect.mjs <base-url> <screenshot-dir>
import { createInterface } from "node:readline";
import { launch, newPage, pickPlace, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, width = "360"] = process.argv.slice(2);
// A phone (360 px wide) or a desktop screen.
const viewport = Number(width) < 600 ? { width: Number(width), height: 740 } : { width: Number(width), height: 900 };
const browser = await launch(shots);
const shot = shooter(shots, `reconnect-${width}-`);
const answers = createInterface({ input: process.stdin });
const ask = (what) => new Promise((resolve) => {
  answers.once("line", resolve);
  console.log(what);
});

try {
  const page = await newPage(browser, { viewport });
  await signIn(base, page, "06 12 34 56 78");
  await page.click("#go-ride");
  await page.click("#new-request");
  await page.waitForSelector("#need-from", { timeout });
  const screen = "/besoins/nouveau";
  await page.waitForURL((url) => url.pathname === screen, { timeout });

  // She fills most of the form.
  await pickPlace(page, "#need-from", "Livern", "Livernon (46320)");
  await pickPlace(page, "#need-to", "Figeac", "Figeac (46100)");
  await page.locator("label", { hasText: "Chaque semaine" }).click();
  const friday = page.locator(".days label", { hasText: "vendredi" }).locator("input");
  await friday.waitFor({ timeout });
  await friday.uncheck();
  await page.fill("#need-time", "10:15");
  await page.selectOption("#need-flex", "30");
  await page.fill("#need-back", "17:00");
  await page.selectOption("#need-purpose", "work");
  await shot(page, "typed");

  // The server goes away: a calm message, and the screen stays readable.
  if ((await ask("stop-server")) !== "stopped") throw new Error("the server did not stop");
  const banner = page.locator("#connection-lost");
  await banner.waitFor({ state: "visible", timeout });
  const said = (await banner.textContent()).trim();
  if (said !== "Connexion perdue, nouvelle tentative…") throw new Error(`the banner says « ${said} »`);
  if ((await banner.getAttribute("role")) !== "status") throw new Error("the banner is not announced politely");
  await page.waitForTimeout(2500); // a try or two fail meanwhile
  await shot(page, "lost");

  // It comes back by itself: the same screen, still signed in, the form
  // as it was.
  if ((await ask("start-server")) !== "started") throw new Error("the server did not start");
  await banner.waitFor({ state: "hidden", timeout: 45000 });
  await page.waitForSelector("#need-time", { timeout });
  if (new URL(page.url()).pathname !== screen) throw new Error(`now at ${page.url()}, not ${screen}`);
  if (await page.locator("#ask-code").count()) throw new Error("asked to sign in again");
  const expect = async (what, read, wanted) => {
    const until = Date.now() + timeout;
    let got;
    while ((got = await read()) !== wanted) {
      if (Date.now() > until) throw new Error(`${what}: ${JSON.stringify(got)}, not ${JSON.stringify(wanted)}`);
      await page.waitForTimeout(100);
    }
  };
  await expect("arrival time", () => page.inputValue("#need-time"), "10:15");
  await expect("flexibility", () => page.inputValue("#need-flex"), "30");
  await expect("return", () => page.inputValue("#need-back"), "17:00");
  await expect("purpose", () => page.inputValue("#need-purpose"), "work");
  await expect("weekly", () => page.locator("label", { hasText: "Chaque semaine" }).locator("input").isChecked(), true);
  await expect("friday", () => friday.isChecked(), false);
  await expect("monday", () => page.locator(".days label", { hasText: "lundi" }).locator("input").isChecked(), true);
  // The places as she chose them: one from the list, one typed in full.
  await expect("from", () => page.inputValue("#need-from"), "Livernon (46320)");
  await expect("to", () => page.inputValue("#need-to"), "Figeac");
  for (const [field, label] of [["#need-from", "Livernon (46320)"], ["#need-to", "Figeac (46100)"]]) {
    await expect(`${field} chosen`, async () => (await page.locator(`${field} + p.chosen`).textContent().catch(() => "")).trim(), `✓ ${label}`);
  }
  await shot(page, "back");

  // And it goes through, as typed.
  await page.click("#publish-request");
  await page.waitForSelector("text=Conducteurs possibles", { timeout });
  const summary = await page.locator("p.muted").first().textContent();
  for (const part of ["Livernon", "Figeac", "10 h 15", "30 min", "17 h"]) {
    if (!summary.includes(part)) throw new Error(`the need says « ${summary} », without « ${part} »`);
  }
  if (summary.includes("vendredi")) throw new Error(`Friday came back: « ${summary} »`);
  await shot(page, "published");
  console.log("reconnect ok");
} finally {
  answers.close();
  await browser.close();
}
