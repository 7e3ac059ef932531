// Readable by an elderly person on a cheap phone: on each screen of a
// passenger and a driver, at 360 px wide, every button, link and field is
// at least 48 × 48 CSS px, no text is smaller than 16 px, and axe-core
// finds nothing critical or serious.
// Usage: node targets.mjs <base-url> <screenshot-dir> <passenger contact> <booking id>
import { AxeBuilder } from "@axe-core/playwright";
import { launch, newPage, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, contact, booking] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, "targets-");

// What on the screen is too small: targets under 48 px, text under 16 px.
async function tooSmall(page) {
  return page.evaluate(() => {
    const found = [];
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && style.visibility !== "hidden" && style.display !== "none";
    };
    const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} « ${(el.textContent || el.value || el.type || "").trim().slice(0, 40)} »`;
    for (const el of document.querySelectorAll("#main button, #main a[href], #main input, #main select, #main textarea, #main [role=button]")) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width < 47.5 || r.height < 47.5) found.push(`target ${name(el)}: ${r.width.toFixed(1)} × ${r.height.toFixed(1)} px`);
    }
    const walker = document.createTreeWalker(document.getElementById("main"), NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode;
      const el = text.parentElement;
      if (!text.textContent.trim() || !el || el.closest("svg, style, script") || !visible(el)) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < 16) found.push(`text ${name(el)}: ${size} px`);
    }
    return found;
  });
}

const problems = [];
async function check(page, screen, prepare) {
  await page.goto(base + screen);
  await page.waitForSelector("#main h1", { timeout });
  if (prepare) await prepare(page);
  await page.waitForTimeout(300);
  await shot(page, screen.replaceAll("/", "_") || "home");
  for (const problem of await tooSmall(page)) problems.push(`${screen}: ${problem}`);
  const { violations, passes } = await new AxeBuilder({ page }).analyze();
  if (!passes.length) problems.push(`${screen}: axe-core checked nothing`);
  for (const v of violations.filter((v) => v.impact === "critical" || v.impact === "serious")) {
    const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
    problems.push(`${screen}: axe ${v.impact} ${v.id} — ${v.help} (${where})`);
  }
}

try {
  const page = await newPage(browser, { viewport: { width: 360, height: 740 } });
  await signIn(base, page, contact);
  // The cookie is set once signed in: screens open by their address.
  await page.waitForTimeout(500);
  await check(page, "/");
  await check(page, "/besoins");
  await check(page, "/besoins/nouveau", async (p) => {
    await p.locator("label", { hasText: "Chaque semaine" }).click();
    await p.fill("#need-from", "Zzyzxville");
    await p.waitForSelector("#need-from + p.hint", { timeout });
    await p.fill("#need-to", "Fig");
    await p.waitForSelector(".suggestions button", { timeout });
  });
  await check(page, "/conduire");
  await check(page, "/conduire/nouveau");
  await check(page, "/reservations");
  await check(page, `/reservations/${booking}`, async (p) => {
    await p.waitForSelector("#contact-phone", { timeout });
  });
  await check(page, "/notifications");
  await check(page, "/profil");
  await check(page, "/reglages");
  if (problems.length) throw new Error("not readable or accessible enough:\n" + problems.join("\n"));
  console.log("targets ok");
} finally {
  await browser.close();
}
