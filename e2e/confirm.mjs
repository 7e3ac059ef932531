// What cannot be undone is asked first, with its consequence: a driver
// deleting a trip on which a passenger has a confirmed seat.
// Usage: node confirm.mjs <base-url> <screenshot-dir> <driver contact> <passenger shown name>
import { launch, newPage, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, contact, passenger] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, "confirm-");
const fail = (message) => { throw new Error(message); };

try {
  const page = await newPage(browser, { viewport: { width: 360, height: 740 } });
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
