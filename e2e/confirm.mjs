// What cannot be undone is asked first, with its consequence: a passenger
// cancelling her confirmed seat or her need (and keeping them), then the
// driver deleting the trip.
// Usage: node confirm.mjs <base-url> <screenshot-dir> <driver contact> <passenger shown name> <passenger contact> <driver shown name>
import { back, launch, newPage, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, contact, passenger, passengerContact, driver, width = "360"] = process.argv.slice(2);
// A phone (360 px wide) or a desktop screen.
const viewport = Number(width) < 600 ? { width: Number(width), height: 740 } : { width: Number(width), height: 900 };
const browser = await launch(shots);
const shot = shooter(shots, `confirm-${width}-`);
const fail = (message) => { throw new Error(message); };

// Taps `label` in `where`, checks what is asked, and keeps everything.
async function askedThenKept(page, where, label, question, consequence, name) {
  await where.locator("button", { hasText: label }).click();
  const dialog = where.locator("[role=alertdialog]");
  await dialog.waitFor({ timeout });
  const asked = (await dialog.textContent()).replace(/\s+/g, " ");
  if (!asked.includes(question)) fail(`the question is « ${asked} »`);
  if (!asked.includes(consequence)) fail(`the consequence is « ${asked} », not « ${consequence} »`);
  await shot(page, name);
  await dialog.locator("button", { hasText: "Non, garder" }).click();
  await dialog.waitFor({ state: "detached", timeout });
}

try {
  // The passenger: her booking, then her need; she keeps both.
  const rider = await newPage(browser, { viewport });
  await signIn(base, rider, passengerContact);
  await rider.click("#go-bookings");
  const card = rider.locator(".card.booking").first();
  await card.waitFor({ timeout });
  await card.locator("button", { hasText: "Ouvrir" }).click();
  await rider.waitForSelector("#booking-status", { timeout });
  await askedThenKept(rider, rider.locator("main"), "Annuler la réservation", "Annuler cette réservation ?",
    `Nous préviendrons ${driver} que la place n'est plus prise`, "booking-asked");
  await rider.waitForTimeout(500);
  const status = (await rider.textContent("#booking-status")).trim();
  if (!/confirm/i.test(status)) fail(`after « Non », the booking is « ${status} »`);
  await back(rider, "h1:has-text('Mes réservations')");
  await back(rider, "#go-ride");
  await rider.click("#go-ride");
  const need = rider.locator(".card.need").first();
  await need.waitFor({ timeout });
  await askedThenKept(rider, need, "Annuler la demande", "Annuler cette demande ?",
    `Nous préviendrons ${driver} : votre place sera annulée.`, "need-asked");
  await rider.waitForTimeout(500);
  if (!(await need.locator("button", { hasText: "Annuler la demande" }).isVisible())) fail("the need went away after « Non »");

  const page = await newPage(browser, { viewport });
  await signIn(base, page, contact);
  await page.click("#go-drive");
  const trip = page.locator(".card", { hasText: "Cahors → Figeac" });
  await trip.waitFor({ timeout });

  // One tap only asks, and says who will be told.
  await trip.locator("button", { hasText: "Supprimer" }).click();
  const dialog = trip.locator("[role=alertdialog]");
  await dialog.waitFor({ timeout });
  const asked = (await dialog.textContent()).replace(/\s+/g, " ");
  if (!asked.includes("Supprimer ce trajet ?")) fail(`the question is « ${asked} »`);
  if (!asked.includes(`Nous préviendrons ${passenger} : sa réservation sera annulée.`)) fail(`the consequence is « ${asked} »`);
  await shot(page, "asked");
  // « Non » keeps it.
  await dialog.locator("button", { hasText: "Non, garder" }).click();
  await page.waitForTimeout(1000);
  if (!(await trip.isVisible())) fail("the trip went away without « Oui »");
  if (await trip.locator("[role=alertdialog]").count()) fail("the question stayed after « Non »");

  // « Oui » deletes it.
  await trip.locator("button", { hasText: "Supprimer" }).click();
  await trip.locator("button", { hasText: "Oui, supprimer le trajet" }).click();
  await trip.waitFor({ state: "detached", timeout });
  await page.waitForSelector("text=Trajet supprimé.", { timeout });
  await shot(page, "deleted");
  console.log("confirm ok");
} finally {
  await browser.close();
}
