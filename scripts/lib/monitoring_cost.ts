/**
 * The monthly cost of monitoring comptoir four ways — Prometheus and Alertmanager run by the team,
 * Grafana Cloud, New Relic, Datadog — from the team's own numbers and the price inputs below. Each
 * price carries where it was read, when, and how far it is confirmed, so a reader checks it and
 * passes their own (`--price NAME=VALUE` of `deno task cost:estimate`) instead of trusting a
 * table. Vendors change prices and plans; every figure here is a list price, before discounts and
 * commitments.
 * @module
 */

/**
 * How far a price input is confirmed: read on the vendor's own page (`vendor`), on a third-party
 * page that quotes the vendor's price list (`secondary`), or not found in any source that could be
 * read (`unconfirmed`: a placeholder the team replaces with `--price NAME=VALUE`).
 */
export type PriceStatus = "vendor" | "secondary" | "unconfirmed";

/** A price input and where it comes from. */
export interface PriceInput {
  value: number;
  unit: string;
  /** Where the figure is published. */
  source: string;
  /** When it was read there (YYYY-MM-DD). */
  readOn: string;
  status: PriceStatus;
  note?: string;
}

const GRAFANA_PLANS =
  "https://github.com/api-evangelist/grafana-com/blob/main/plans/grafana-com-plans-pricing.yml " +
  "(reconciled from grafana.com/pricing, 2026-05-25)";

/**
 * The price inputs, read on the days given from stored copies of the pages named. List prices,
 * before discounts, commitments and taxes; `--price NAME=VALUE` replaces any of them.
 */
export const PRICES = {
  newRelicFreeGb: {
    value: 100,
    unit: "GB ingested per month, free",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-users/pricing-billing",
    readOn: "2026-12-04",
    status: "vendor",
  },
  newRelicPerGb: {
    value: 0.25,
    unit: "USD per GB ingested above the free amount (Original Data option)",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-billing/new-relic-one-pricing-billing",
    readOn: "2026-12-04",
    status: "unconfirmed",
    note:
      "the figure of that page's 2020-2022 versions; its current version says the price depends on the data option (Original Data or Data Plus) without a figure — check newrelic.com/pricing",
  },
  newRelicFreeFullUsers: {
    value: 1,
    unit: "full platform user included (Free and Standard editions)",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-users/pricing-billing",
    readOn: "2026-12-04",
    status: "vendor",
  },
  newRelicFullUserUsd: {
    value: 0,
    unit: "USD per full platform user per month past the free one",
    source:
      "https://docs.newrelic.com/docs/accounts/accounts-billing/new-relic-one-pricing-users/pricing-billing",
    readOn: "2026-12-04",
    status: "unconfirmed",
    note:
      "the page says the price depends on the edition and gives none; 0 until you pass your edition's price",
  },
  datadogHostAnnual: {
    value: 15,
    unit: "USD per host per month, Infrastructure Pro billed annually",
    source: "https://www.doit.com/blog/datadog-pricing-explained (quoting datadoghq.com/pricing)",
    readOn: "2026-12-04",
    status: "secondary",
    note:
      "USD 18 billed monthly or on demand, Enterprise USD 23 (same source; also https://www.getaiperks.com/sr/articles/datadog-pricing)",
  },
  datadogCustomMetricsPerHost: {
    value: 100,
    unit: "custom metrics included per Infrastructure Pro host",
    source: "https://datadoghq.com/pricing/allotments",
    readOn: "2026-12-04",
    status: "vendor",
    note:
      "each Prometheus series (name + label values) is one custom metric: https://docs.datadoghq.com/account_management/billing/custom_metrics/",
  },
  datadogPerCustomMetric: {
    value: 0.05,
    unit: "USD per custom metric per month above the allotment",
    source:
      "https://toolstac.com/tool/datadog/cost-management-guide (quoting datadoghq.com/pricing)",
    readOn: "2026-12-04",
    status: "secondary",
  },
  grafanaCloudPlatformUsd: {
    value: 19,
    unit: "USD per month, Grafana Cloud Pro platform fee",
    source: GRAFANA_PLANS,
    readOn: "2026-12-04",
    status: "secondary",
  },
  grafanaCloudPerThousandSeries: {
    value: 6.5,
    unit: "USD per 1,000 billable active series per month (Pro)",
    source: GRAFANA_PLANS,
    readOn: "2026-12-04",
    status: "secondary",
  },
  grafanaCloudIncludedSeries: {
    value: 10_000,
    unit: "active series included before the per-series price",
    source: GRAFANA_PLANS,
    readOn: "2026-12-04",
    status: "unconfirmed",
    note:
      "the source lists 10,000 series for the Free plan and does not say Pro keeps them; 0 is the cautious figure",
  },
  grafanaCloudDpmPerSeries: {
    value: 1,
    unit:
      "data points per minute included per active series (Pro): above it the bill counts DPM instead",
    source:
      "https://grafana.com/docs/grafana-cloud/cost-management-and-billing/understand-usage-cost/metrics",
    readOn: "2026-12-04",
    status: "vendor",
  },
  grafanaCloudPerUser: {
    value: 8,
    unit: "USD per active Grafana user per month (Pro)",
    source: GRAFANA_PLANS,
    readOn: "2026-12-04",
    status: "secondary",
  },
  grafanaCloudIncludedUsers: {
    value: 3,
    unit: "active Grafana users included",
    source: GRAFANA_PLANS,
    readOn: "2026-12-04",
    status: "unconfirmed",
    note: "listed for the Free plan; that Pro keeps them is not stated there",
  },
  prometheusBytesPerSample: {
    value: 2,
    unit: "bytes of disk per stored sample (upper end of Prometheus's 1-2)",
    source: "https://prometheus.io/docs/prometheus/latest/storage/",
    readOn: "2026-12-04",
    status: "vendor",
  },
} as const satisfies Record<string, PriceInput>;

/** The names of the price inputs. */
export type PriceName = keyof typeof PRICES;

/** The price values in force: {@linkcode PRICES} with the team's overrides. */
export type PriceValues = Record<PriceName, number>;

/**
 * The price values, with `overrides` (from `--price NAME=VALUE`) in place of the sourced ones.
 *
 * @example
 * ```ts
 * const prices = priceValues({ newRelicPerGb: 0.4 });
 * ```
 */
export function priceValues(overrides: Partial<Record<string, number>> = {}): PriceValues {
  const values = Object.fromEntries(
    Object.entries(PRICES).map(([name, p]) => [name, p.value]),
  ) as PriceValues;
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(PRICES, name)) {
      throw new RangeError(
        `Unknown price input ${name}; known: ${Object.keys(PRICES).join(", ")}`,
      );
    }
    if (value === undefined || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`Price input ${name} must be a number >= 0`);
    }
    values[name as PriceName] = value;
  }
  return values;
}

/** The team's numbers (options of `deno task cost:estimate`). */
export interface TeamInputs {
  /** Active series the shop exposes (a scrape of the metrics function counts them). */
  series: number;
  /** Scrape interval in seconds. */
  scrapeIntervalSeconds: number;
  /** Bytes a sample costs once ingested by a SaaS (labels and metadata included). */
  ingestBytesPerSample: number;
  /** Days of history kept. */
  retentionDays: number;
  /** Hosts running a Datadog agent (one scrapes the metrics function). */
  datadogHosts: number;
  /** People who need full New Relic access. */
  newRelicFullUsers: number;
  /** People who log in to Grafana Cloud in a month. */
  grafanaUsers: number;
  /** Self-hosting: the machine for Prometheus + Alertmanager, per month. */
  vmUsdPerMonth: number;
  /** Self-hosting: disk price per GB per month. */
  diskUsdPerGbMonth: number;
  /** Self-hosting: hours of upkeep a month (upgrades, disk, rule changes). */
  opsHoursPerMonth: number;
  /** What an hour of the team costs. */
  hourlyUsd: number;
}

/** Defaults: assumptions to replace with the team's own numbers, not measurements. */
export const DEFAULT_TEAM: TeamInputs = {
  series: 1500,
  scrapeIntervalSeconds: 15,
  ingestBytesPerSample: 150,
  retentionDays: 30,
  datadogHosts: 1,
  newRelicFullUsers: 1,
  grafanaUsers: 1,
  vmUsdPerMonth: 20,
  diskUsdPerGbMonth: 0.1,
  opsHoursPerMonth: 4,
  hourlyUsd: 60,
};

/** One option's monthly cost with its parts. */
export interface CostLine {
  option: "self-hosted Prometheus" | "Grafana Cloud" | "New Relic" | "Datadog";
  monthlyUsd: number;
  parts: { what: string; usd: number }[];
}

const SECONDS_PER_MONTH = 30 * 24 * 3600;

/** Samples a month at this many series and interval. */
export function samplesPerMonth(
  team: Pick<TeamInputs, "series" | "scrapeIntervalSeconds">,
): number {
  return team.series * (SECONDS_PER_MONTH / team.scrapeIntervalSeconds);
}

/**
 * The four options' monthly costs.
 *
 * @example
 * ```ts
 * const [self, grafana, newRelic, datadog] = estimateMonitoringCost({
 *   ...DEFAULT_TEAM,
 *   series: 3000,
 * });
 * ```
 */
export function estimateMonitoringCost(
  team: TeamInputs,
  prices: PriceValues = priceValues(),
): CostLine[] {
  for (const [key, value] of Object.entries(team)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${key} must be a number >= 0`);
  }
  if (team.scrapeIntervalSeconds <= 0) throw new RangeError("scrapeIntervalSeconds must be > 0");
  const samples = samplesPerMonth(team);

  const diskGb = samples * (team.retentionDays / 30) * prices.prometheusBytesPerSample / 1e9;
  const self: CostLine = {
    option: "self-hosted Prometheus",
    parts: [
      { what: "machine", usd: team.vmUsdPerMonth },
      {
        what: `disk (${diskGb.toFixed(2)} GB for ${team.retentionDays} days)`,
        usd: diskGb * team.diskUsdPerGbMonth,
      },
      { what: `upkeep (${team.opsHoursPerMonth} h)`, usd: team.opsHoursPerMonth * team.hourlyUsd },
    ],
    monthlyUsd: 0,
  };

  const ingestGb = Math.floor(samples * team.ingestBytesPerSample / 1e9);
  const billableGb = Math.max(0, ingestGb - prices.newRelicFreeGb);
  const paidUsers = Math.max(0, team.newRelicFullUsers - prices.newRelicFreeFullUsers);
  const newRelic: CostLine = {
    option: "New Relic",
    parts: [
      {
        what: `ingest (${ingestGb} GB, ${billableGb} billable)`,
        usd: billableGb * prices.newRelicPerGb,
      },
      { what: `full users (${paidUsers} paid)`, usd: paidUsers * prices.newRelicFullUserUsd },
    ],
    monthlyUsd: 0,
  };

  const included = team.datadogHosts * prices.datadogCustomMetricsPerHost;
  const extraMetrics = Math.max(0, team.series - included);
  const datadog: CostLine = {
    option: "Datadog",
    parts: [
      {
        what: `hosts (${team.datadogHosts})`,
        usd: team.datadogHosts * prices.datadogHostAnnual,
      },
      {
        what: `custom metrics (${team.series}, ${included} included)`,
        usd: extraMetrics * prices.datadogPerCustomMetric,
      },
    ],
    monthlyUsd: 0,
  };

  // Grafana Cloud bills the larger of the active series and the data points per minute divided by
  // the DPM included per series: a 15 s scrape sends 4 DPM per series, so it counts 4× the series.
  const dpmPerSeries = 60 / team.scrapeIntervalSeconds;
  const billedSeries = team.series * Math.max(1, dpmPerSeries / prices.grafanaCloudDpmPerSeries);
  const paidSeries = Math.max(0, billedSeries - prices.grafanaCloudIncludedSeries);
  const paidGrafanaUsers = Math.max(0, team.grafanaUsers - prices.grafanaCloudIncludedUsers);
  const grafana: CostLine = {
    option: "Grafana Cloud",
    parts: [
      { what: "Pro platform fee", usd: prices.grafanaCloudPlatformUsd },
      {
        what: `series (${Math.round(billedSeries)} billed at ${dpmPerSeries} DPM, ${
          Math.round(paidSeries)
        } paid)`,
        usd: paidSeries / 1000 * prices.grafanaCloudPerThousandSeries,
      },
      {
        what: `users (${team.grafanaUsers}, ${paidGrafanaUsers} paid)`,
        usd: paidGrafanaUsers * prices.grafanaCloudPerUser,
      },
    ],
    monthlyUsd: 0,
  };

  for (const line of [self, grafana, newRelic, datadog]) {
    line.monthlyUsd = line.parts.reduce((sum, part) => sum + part.usd, 0);
  }
  return [self, grafana, newRelic, datadog];
}
