// The web shell end to end, in headless Chromium (Debian's), two people at
// once: a passenger asks for a seat, the driver sees it live and confirms,
// the passenger sees the confirmation and the driver's phone.
// Usage: node flow.mjs <base-url> <screenshot-dir> <date YYYY-MM-DD>
import { launch, newPage, pickPlace, shooter, signIn as signInAt, timeout } from "./lib.mjs";

const [base, shots, date] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots);
const signIn = (page, contact) => signInAt(base, page, contact);

try {
  const driver = await newPage(browser);
  // The passenger's phone knows where it is (Livernon).
  const passenger = await newPage(browser, {
    geolocation: { latitude: 44.646, longitude: 1.844 },
    permissions: ["geolocation"],
  });

  // The driver (demo account, Cahors → Figeac weekdays at 7:30, shares her phone).
  await signIn(driver, "+33600000001");
  await shot(driver, "driver-home");
  // Signing in registered the service worker that shows Web Push
  // notifications when the browser tab is closed.
  const workers = async () => driver.evaluate(async () =>
    (await navigator.serviceWorker.getRegistrations())
      .map((r) => (r.active || r.installing || r.waiting)?.scriptURL || ""));
  const until = Date.now() + timeout;
  while (!(await workers()).some((url) => url === base + "/sw.js")) {
    if (Date.now() > until) throw new Error(`no service worker at /sw.js: ${await workers()}`);
    await driver.waitForTimeout(200);
  }
  await driver.click("#go-bookings");
  await driver.waitForSelector("text=Mes réservations", { timeout });

  // The passenger asks for a trip Livernon → Figeac.
  await signIn(passenger, "06 22 33 44 55");
  await shot(passenger, "passenger-home");
  await passenger.click("#go-ride");
  await passenger.click("#new-request");
  await pickPlace(passenger, "#need-from", "Livern", "Livernon (46320)");
  await pickPlace(passenger, "#need-to", "Figeac", "Figeac (46100)");
  await passenger.fill("#need-date", date);
  await passenger.fill("#need-time", "09:30");
  await shot(passenger, "need-form");
  await passenger.click("#publish-request");
  await passenger.waitForSelector("text=Conducteurs possibles", { timeout });
  const card = passenger.locator(".card", { hasText: "Marie D." }).first();
  await card.waitFor({ timeout });
  await shot(passenger, "matches");
  await card.locator("button.book").click();
  await passenger.waitForSelector("text=Mes réservations", { timeout });
  await passenger.waitForSelector("text=en attente de la réponse de Marie D.", { timeout });
  await shot(passenger, "booked");
  // Her need says who was asked, not that nobody was.
  await passenger.click("button.back");
  await passenger.click("#go-ride");
  await passenger.locator(".card.need", { hasText: "Demande envoyée à Marie D." }).first().waitFor({ timeout });

  // The driver sees the request arrive without reloading, and confirms.
  const request = driver.locator(".card.booking", { hasText: "Vous prenez" }).first();
  await request.waitFor({ timeout });
  // It is the driver's turn: she is not told she waits for herself.
  await driver.locator(".card.booking", { hasText: "À vous de répondre" }).first().waitFor({ timeout });
  await shot(driver, "request-arrived");
  await request.locator("button", { hasText: "Ouvrir" }).click();
  await driver.click("#confirm");
  await driver.waitForFunction(() => document.querySelector("#booking-status")?.textContent === "confirmé", null, { timeout });
  await shot(driver, "confirmed");

  // The passenger's need: the place is confirmed, no more drivers to see.
  const need = passenger.locator(".card.need", { hasText: "Place confirmée avec Marie D." }).first();
  await need.waitFor({ timeout });
  if (await need.locator("button", { hasText: "Voir les conducteurs" }).count()) {
    throw new Error("« Voir les conducteurs » offered on a confirmed need");
  }
  await shot(passenger, "need-confirmed");
  await passenger.click("button.back");
  await passenger.click("#go-bookings");

  // The passenger sees it confirmed, and the driver's phone.
  const mine = passenger.locator(".card.booking", { hasText: "confirmé" }).first();
  await mine.waitFor({ timeout });
  await mine.locator("button", { hasText: "Ouvrir" }).click();
  const phone = passenger.locator("#contact-phone");
  await phone.waitFor({ timeout });
  const shown = (await phone.textContent()).trim();
  await shot(passenger, "driver-phone");
  if (shown !== "06 00 00 00 01") throw new Error(`driver phone shown as ${shown}`);
  // "I am at the meeting point" reaches the server with the position; days
  // before the trip, it says when it will be possible.
  await passenger.click("#check-in");
  await passenger.waitForSelector("text=Vous pourrez indiquer que vous êtes au rendez-vous le jour du trajet", { timeout });
  console.log("e2e ok");
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
