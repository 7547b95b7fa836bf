-- Records, per evaluated instant of a seasonal rule, the seasonal median the value was judged against.
alter table alerting.samples add column if not exists seasonal double precision;
comment on column alerting.samples.seasonal is
  'Seasonal rules: the median of the same time of the week over the last weeks, before any level '
  'factor. The day''s level of a later evaluation is the median of value / seasonal over its '
  'level window (supabase/functions/alerts/detectors.ts, levelFactor).';
comment on index alerting.samples_pkey is
  'Serves the rolling window of a series (rule, fingerprint, at > instant - window) and the '
  'level window of a seasonal series (at between instant - level_window and instant - level_skip).';
