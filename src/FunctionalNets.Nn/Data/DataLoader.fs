namespace FunctionalNets

// Placeholder: Data/DataLoader lands here.
