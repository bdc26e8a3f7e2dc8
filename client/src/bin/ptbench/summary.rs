//! What a run found, as text for people or one JSON object.

use super::*;

/// What a run measured, for printing.
pub struct Summary<'a> {
    pub cli: &'a Cli,
    pub targets: &'a [SocketAddr],
    pub seconds: f64,
    pub tally: &'a Tally,
    pub running: u64,
}

impl Summary<'_> {
    pub fn rows(&self) -> impl Iterator<Item = (usize, &'static str)> + '_ {
        OPS.iter()
            .enumerate()
            .filter(|(i, _)| !self.tally.hist[*i].is_empty() || self.tally.failed[*i] > 0)
            .map(|(i, name)| (i, *name))
    }

    pub fn mode(&self) -> String {
        match self.cli.rate {
            Some(rate) => format!("open loop at {rate} requests/s"),
            None => "closed loop".to_string(),
        }
    }

    pub fn text(&self) -> String {
        let target = if self.cli.redis.is_some() {
            "redis-server"
        } else {
            "worker(s)"
        };
        let mut out = format!(
            "ptbench: {}, {} connections ({} running) to {} {target}, {}, {:.0} s after {:.0} s warm-up\n",
            if self.cli.redis.is_some() {
                "redis GET"
            } else {
                self.cli.scenario.name()
            },
            self.cli.connections,
            self.running,
            self.targets.len(),
            self.mode(),
            self.seconds,
            self.cli.warmup,
        );
        out.push_str(&format!(
            "{:8} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n",
            "op", "count", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "failed"
        ));
        for (i, name) in self.rows() {
            let h = &self.tally.hist[i];
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            out.push_str(&format!(
                "{name:8} {:>10} {:>11.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8}\n",
                h.len(),
                h.len() as f64 / self.seconds,
                ms(0.5),
                ms(0.9),
                ms(0.99),
                ms(0.999),
                h.max() as f64 / 1000.0,
                self.tally.failed[i],
            ));
        }
        if !self.tally.reasons.is_empty() {
            let reasons: Vec<String> = self
                .tally
                .reasons
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            out.push_str(&format!("failures: {}\n", reasons.join(", ")));
        }
        if self.tally.skipped > 0 {
            out.push_str(&format!(
                "{} scheduled requests skipped: connections had 1000 outstanding\n",
                self.tally.skipped
            ));
        }
        if let Some(first) = self.tally.broken.first() {
            out.push_str(&format!(
                "{} connections broke, the first: {first}\n",
                self.tally.broken.len()
            ));
        }
        out
    }

    pub fn json(&self) -> String {
        let ops: serde_json::Map<String, serde_json::Value> = self
            .rows()
            .map(|(i, name)| {
                let h = &self.tally.hist[i];
                let us = |q: f64| h.value_at_quantile(q);
                (
                    name.to_string(),
                    serde_json::json!({
                        "count": h.len(),
                        "per_second": h.len() as f64 / self.seconds,
                        "p50_us": us(0.5),
                        "p90_us": us(0.9),
                        "p99_us": us(0.99),
                        "p999_us": us(0.999),
                        "max_us": h.max(),
                        "failed": self.tally.failed[i],
                    }),
                )
            })
            .collect();
        let reasons: serde_json::Map<String, serde_json::Value> = self
            .tally
            .reasons
            .iter()
            .map(|(c, n)| (c.clone(), serde_json::json!(n)))
            .collect();
        serde_json::json!({
            "scenario": if self.cli.redis.is_some() { "redis" } else { self.cli.scenario.name() },
            "connections": self.cli.connections,
            "running": self.running,
            "targets": self.targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            "loop": if self.cli.rate.is_some() { "open" } else { "closed" },
            "rate": self.cli.rate,
            "seconds": self.seconds,
            "warmup_seconds": self.cli.warmup,
            "ops": ops,
            "failures": reasons,
            "broken_connections": self.tally.broken.len(),
            "skipped": self.tally.skipped,
        })
        .to_string()
    }
}
