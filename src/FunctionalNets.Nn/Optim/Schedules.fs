namespace FunctionalNets

// Placeholder: Optim/Schedules lands here.
