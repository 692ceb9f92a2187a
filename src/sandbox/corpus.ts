import type { Rng } from "./rng.js";

/** Words the simulated bots "hear": names and sentences that read like a real meeting. */

export const SPEAKER_NAMES = [
  "Dmitriy Grankin",
  "Olga Avramenko",
  "Sarah Chen",
  "James O'Connor",
  "Priya Raman",
  "Lukas Becker",
  "María García",
  "Tom Hughes",
  "Aisha Bello",
  "Kenji Watanabe",
  "Emma Lindqvist",
  "Carlos Mendes",
  "Fatima Zahra",
  "Noah Williams",
  "Chloé Martin",
  "Ravi Patel",
  "Anna Kowalska",
  "David Levi",
  "Sofia Rossi",
  "Ben Carter",
  "Mei Lin",
  "Jonas Schmidt",
  "Grace Okafor",
  "Pedro Alves",
  "Hannah Meyer",
  "Omar Haddad",
  "Lucy Thompson",
  "Ivan Petrov",
  "Elena Popescu",
  "Marcus Johnson",
] as const;

/** Non-English speakers' languages and what they say; most meetings are English only. */
export const OTHER_LANGUAGES = ["es", "de", "fr", "pt", "ru"] as const;

export const SENTENCES: Record<string, readonly string[]> = {
  en: [
    "Okay, let's get started, I think everyone is here now.",
    "Can you all see my screen?",
    "So the main thing for today is the release plan for next quarter.",
    "We shipped the new onboarding flow last week and the numbers look good so far.",
    "Conversion went up about four percent compared to the old version.",
    "I'm a bit worried about the migration timeline, to be honest.",
    "The database upgrade needs a maintenance window, probably on a Sunday.",
    "Let's take that offline and come back to it on Thursday.",
    "Does anyone have questions before we move on?",
    "I talked to the customer yesterday and they want the export feature by March.",
    "That seems doable if we drop the reporting redesign for now.",
    "Who owns the follow-up with the security team?",
    "I can take that one, I already have a thread going with them.",
    "The latency on the search endpoint is still around two hundred milliseconds at p99.",
    "We should add caching in front of it before the marketing push.",
    "Sorry, I was on mute, could you repeat the last part?",
    "The budget for the contractors was approved this morning.",
    "I'd like to get a draft of the proposal out by Friday.",
    "Let's make sure the documentation is updated before we announce anything.",
    "Support tickets dropped after the last patch, which is great news.",
    "We still have two open incidents from the weekend.",
    "The root cause was a misconfigured load balancer health check.",
    "I'll write up the postmortem and share it in the channel.",
    "Can we agree on the scope for the first milestone?",
    "I think we need one more designer on the mobile project.",
    "The hiring pipeline has three strong candidates for the backend role.",
    "Interviews are scheduled for next Tuesday and Wednesday.",
    "Let's keep the demo short, fifteen minutes at most.",
    "The client asked whether we support single sign-on with their provider.",
    "Yes, we do, but it needs the enterprise plan.",
    "Great, that's a good point, let's add it to the notes.",
    "I'll send the meeting notes and action items after the call.",
    "Before we wrap up, any blockers I should know about?",
    "Nothing from my side, everything is on track.",
    "We're waiting on legal to review the new terms of service.",
    "The pricing page experiment ends on the twentieth.",
    "Revenue for the month is slightly above forecast.",
    "Churn is flat, but we see more downgrades on the starter tier.",
    "Let's look at the funnel data together next week.",
    "Thanks everyone, this was really productive.",
  ],
  es: [
    "Bueno, empecemos con el primer punto de la agenda.",
    "Creo que el cliente quiere ver una demo la próxima semana.",
    "El equipo de soporte ha reducido los tiempos de respuesta.",
    "Tenemos que revisar el presupuesto antes del viernes.",
    "¿Alguien tiene preguntas sobre el lanzamiento?",
    "Perfecto, lo anoto en el acta de la reunión.",
  ],
  de: [
    "Gut, dann fangen wir mit dem ersten Punkt an.",
    "Die Migration sollte bis Ende des Monats abgeschlossen sein.",
    "Ich schicke euch die Zahlen nach dem Termin.",
    "Hat jemand noch Fragen zum Zeitplan?",
    "Das Budget für das nächste Quartal ist freigegeben.",
    "Danke, das war sehr hilfreich.",
  ],
  fr: [
    "Alors, on commence par le point sur le projet.",
    "Le client a validé la maquette hier soir.",
    "Il faut encore corriger deux anomalies avant la mise en production.",
    "Je vous envoie le compte rendu après la réunion.",
    "Est-ce que tout le monde est d'accord avec ce planning ?",
    "Merci à tous, bonne fin de journée.",
  ],
  pt: [
    "Então, vamos começar pela revisão das metas.",
    "O cliente pediu mais uma semana para testar.",
    "A equipe terminou a integração com o sistema de pagamentos.",
    "Eu posso cuidar da apresentação de sexta-feira.",
    "Alguém tem alguma dúvida sobre o cronograma?",
    "Obrigado a todos, até a próxima.",
  ],
  ru: [
    "Итак, давайте начнём с главного вопроса.",
    "Мы закончили тестирование новой версии вчера.",
    "Клиент хочет получить отчёт до конца недели.",
    "Шестнадцать, семнадцать, восемнадцать, девятнадцать, двадцать.",
    "Есть ли у кого-нибудь вопросы по срокам?",
    "Спасибо всем, хорошего дня.",
  ],
};

/** Plausible mishearings a live ASR emits before it revises the segment. */
export const MISHEARINGS: Record<string, string> = {
  release: "real ease",
  quarter: "water",
  migration: "my gration",
  customer: "costumer",
  latency: "late and see",
  caching: "cashing",
  proposal: "proposed all",
  incidents: "incidence",
  designer: "design her",
  candidates: "candy dates",
  budget: "budge it",
  forecast: "for cast",
  funnel: "final",
  documentation: "documentations",
  milestone: "mile stone",
  pricing: "prizing",
};

/** A first-pass ASR guess that differs from the final words: a misheard word, or the last word cut off. */
export function misheard(words: string[], rng: Rng): string[] {
  const idx = words.findIndex((w) => MISHEARINGS[w.toLowerCase().replace(/[^a-z]/g, "")] !== undefined);
  const word = words[idx];
  if (word !== undefined) {
    const bare = word.toLowerCase().replace(/[^a-z]/g, "");
    const copy = [...words];
    copy[idx] = word.replace(new RegExp(bare, "i"), MISHEARINGS[bare] ?? bare);
    return copy;
  }
  if (words.length > 2) return rng.next() < 0.5 ? words.slice(0, -1) : [...words.slice(0, -1), "uh"];
  return [...words, "uh"];
}
