// After the trip, each side gives its word: the passenger grades the
// driver (a missing grade is told at its field), sees what she gave and
// may change it; the driver, having three grades, reads his average on
// his profile; the coordinator sees the low grade flagged and hides it
// with a reason.
// Usage: node rating.mjs <base-url> <screenshot-dir> <booking id> <passenger contact> <driver contact> <coordinator contact>
import { launch, newPage, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, booking, passenger, driver, coordinator] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, "rating-");
const fail = (message) => { throw new Error(message); };
const viewport = { width: 360, height: 740 };

try {
  const page = await newPage(browser, { viewport });
  await signIn(base, page, passenger);
  await page.goto(`${base}/reservations/${booking}`);
  await page.waitForSelector("#send-rating", { timeout });
  await page.fill("#rating-comment", "Ponctuel, très aimable");
  // Sent without a grade: said at the grades, nothing kept.
  await page.click("#send-rating");
  const message = page.locator("fieldset .error");
  await message.waitFor({ timeout });
  if (!(await message.textContent()).includes("Choisissez une note de 1 à 5")) fail(`a missing grade says « ${await message.textContent()} »`);
  await shot(page, "no-grade");
  await page.check("#grade-2");
  await page.click("#send-rating");
  await page.waitForSelector("#my-rating", { timeout });
  const given = (await page.textContent("#my-rating")).trim();
  if (given !== "Note donnée : 2 sur 5 (décevant)") fail(`she sees « ${given} »`);
  await shot(page, "given");
  // She changes her mind, the same day.
  await page.click("#change-rating");
  await page.waitForSelector("#grade-2:checked", { timeout });
  await page.check("#grade-1");
  await page.click("#send-rating");
  await page.waitForSelector("text=Note donnée : 1 sur 5", { timeout });

  // The driver's profile: his average, from three grades on.
  const his = await newPage(browser, { viewport });
  await signIn(base, his, driver);
  await his.goto(`${base}/profil`);
  await his.waitForSelector("#my-grade", { timeout });
  const average = (await his.textContent("#my-grade")).trim();
  if (!/^Votre note moyenne : \d,\d sur 5 \(3 avis\)$/.test(average)) fail(`his profile says « ${average} »`);
  await shot(his, "average");

  // The coordinator: told on the way in, the low one first, hidden with
  // a reason.
  const staff = await newPage(browser, { viewport });
  await signIn(base, staff, coordinator);
  await staff.goto(`${base}/coordination`);
  await staff.waitForSelector("text=Avis après les trajets (1 à regarder)", { timeout });
  // On the board too.
  await staff.goto(`${base}/coordination/tableau`);
  await staff.waitForSelector("#low-ratings >> text=1 avis bas (1 ou 2 sur 5) à regarder", { timeout });
  await staff.click("#low-ratings button");
  await staff.waitForSelector("h1 >> text=Avis après les trajets", { timeout });
  await staff.goto(`${base}/coordination`);
  await staff.waitForSelector("#go-ratings", { timeout });
  await staff.click("#go-ratings");
  const first = staff.locator(".card.rating").first();
  await first.waitFor({ timeout });
  const said = await first.textContent();
  if (!said.includes("À regarder") || !said.includes("1 sur 5") || !said.includes("Ponctuel, très aimable")) fail(`the first rating shows « ${said} »`);
  await shot(staff, "flagged");
  await first.locator("button", { hasText: "Masquer…" }).click();
  await first.locator("input").fill("Erreur de note, dit la passagère");
  await first.locator("button", { hasText: "Masquer cet avis" }).click();
  await staff.waitForSelector("text=Masqué. Motif : Erreur de note, dit la passagère", { timeout });
  await shot(staff, "hidden");
  console.log("rating ok");
} finally {
  await browser.close();
}
