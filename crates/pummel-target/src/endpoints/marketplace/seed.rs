//! The demo data every server starts with, so reads return something from the first request.

use super::records::{NewApp, NewReview};
use super::state::Marketplace;

/// The seeded user, who owns the seeded apps. Scenarios may log in as it.
pub(crate) const DEMO_USER: &str = "demo";
/// Its password (this is a demo: see `credentials`).
pub(crate) const DEMO_PASSWORD: &str = "demo";

const APPS: [(&str, &str, &str); 5] = [
    (
        "Pixel Quest",
        "games",
        "A retro platformer with forty hand-drawn levels.",
    ),
    (
        "Sudoku Daily",
        "games",
        "A new sudoku every morning, from gentle to fiendish.",
    ),
    (
        "Quick Notes",
        "tools",
        "Plain-text notes that sync nowhere and open instantly.",
    ),
    (
        "Unit Converter",
        "tools",
        "Lengths, weights, temperatures and currencies, offline.",
    ),
    (
        "Beat Maker",
        "music",
        "A sixteen-step drum machine with sample packs.",
    ),
];

/// (app index in [`APPS`], rating, text)
const REVIEWS: [(usize, u8, &str); 3] = [
    (0, 5, "Brilliant level design."),
    (0, 4, "Hard but fair."),
    (4, 3, "Fun, needs more kits."),
];

/// Adds the demo user, apps and reviews. Runs on an empty store whose caps are far above this, so
/// nothing here can fail; if something did, the server would merely start with less demo data.
pub(crate) fn seed(market: &Marketplace) {
    let Ok(user) = market.register(DEMO_USER, DEMO_PASSWORD.as_bytes()) else {
        return;
    };
    let mut ids = Vec::with_capacity(APPS.len());
    for (name, category, description) in APPS {
        let app = NewApp {
            name: name.to_owned(),
            category: category.to_owned(),
            description: description.to_owned(),
        };
        if let Ok(app) = market.create_app(&user, app) {
            ids.push(app.id);
        }
    }
    for (index, rating, text) in REVIEWS {
        if let Some(&id) = ids.get(index) {
            let review = NewReview {
                rating,
                text: text.to_owned(),
            };
            let _ = market.add_review(id, &user, review);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::marketplace::state::Limits;

    #[test]
    fn seeds_apps_in_three_categories() {
        let market = Marketplace::new(Limits::default());
        seed(&market);
        let stats = market.stats();
        assert_eq!((stats.users, stats.apps, stats.reviews), (1, 5, 3));
        let first = market.app(1).unwrap();
        assert_eq!((first.rating, first.reviews), (Some(4.5), 2));
        assert!(market
            .login(DEMO_USER, DEMO_PASSWORD.as_bytes())
            .unwrap()
            .is_some());
    }
}
